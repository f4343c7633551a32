package spqr

import (
	"fmt"
	"math"
	"sort"

	"github.com/parley-im/parley/e2ee/internal/kdf"
)

// Direction says which half of each epoch's key material a party sends with.
// The session initiator (Alice, who sent the PreKey message) is A2B.
type Direction uint8

const (
	A2B Direction = 0
	B2A Direction = 1
)

func (d Direction) valid() bool { return d == A2B || d == B2A }

func (d Direction) other() Direction { return d ^ 1 }

// Defaults of ChainParams; libsignal passes exactly these.
const (
	DefaultMaxJump    = 25_000
	DefaultMaxOOOKeys = 2_000
)

// ChainParams bound the work and memory spent on out-of-order messages. Zero
// fields mean the defaults.
type ChainParams struct {
	// MaxJump is how far ahead of the newest key a message index may be.
	MaxJump uint32
	// MaxOOOKeys is how far behind the newest key a skipped key is kept.
	MaxOOOKeys uint32
}

func (p ChainParams) maxJump() uint64 {
	if p.MaxJump == 0 {
		return DefaultMaxJump
	}
	return uint64(p.MaxJump)
}

func (p ChainParams) maxOOO() uint64 {
	if p.MaxOOOKeys == 0 {
		return DefaultMaxOOOKeys
	}
	return uint64(p.MaxOOOKeys)
}

// KDF labels, as byte slices for kdf.HKDF (never written).
var (
	labelChainStart = []byte("Signal PQ Ratchet V1 Chain  Start") // two spaces: as deployed
	labelChainNext  = []byte("Signal PQ Ratchet V1 Chain Next")
	labelAddEpoch   = []byte("Signal PQ Ratchet V1 Chain Add Epoch")
)

// epochsKeptBeforeSendEpoch: once a party sends in epoch e, keys of epochs
// before e-1 are dropped, so late messages older than that cannot be read.
const epochsKeptBeforeSendEpoch = 1

type storedKey struct {
	idx uint32
	key [32]byte
}

// chainDir is one direction of one epoch: a counter, the next chain key and
// the keys skipped over for messages that may still arrive.
type chainDir struct {
	ctr     uint32
	hasNext bool // false once a send half has been retired
	next    [32]byte
	prev    []storedKey // ascending idx
}

type chainEpoch struct {
	send, recv chainDir
}

// chain holds the keys of every epoch still in use. links[len-1] belongs to
// epoch current, links[0] to epoch current-len+1.
type chain struct {
	dir       Direction
	current   uint64
	sendEpoch uint64
	links     []chainEpoch
	nextRoot  [32]byte
	params    ChainParams
}

func newChainDir(k []byte) chainDir {
	d := chainDir{hasNext: true}
	copy(d.next[:], k)
	return d
}

func (c *chain) linkFrom(okm []byte) chainEpoch {
	// okm is next_root ‖ A2B ‖ B2A.
	a2b, b2a := okm[32:64], okm[64:96]
	if c.dir == A2B {
		return chainEpoch{send: newChainDir(a2b), recv: newChainDir(b2a)}
	}
	return chainEpoch{send: newChainDir(b2a), recv: newChainDir(a2b)}
}

func newChain(authKey []byte, dir Direction, params ChainParams) *chain {
	var okm [96]byte
	kdf.HKDF(okm[:], zeroSalt, authKey, labelChainStart)
	c := &chain{dir: dir, params: params}
	copy(c.nextRoot[:], okm[:32])
	c.links = []chainEpoch{c.linkFrom(okm[:])}
	return c
}

// addEpoch mixes the secret of epoch c.current+1 into the root and opens that
// epoch's chains. Callers check the epoch number first (checkAddEpoch).
func (c *chain) addEpoch(secret []byte) {
	var okm [96]byte
	kdf.HKDF(okm[:], c.nextRoot[:], secret, labelAddEpoch)
	c.current++
	copy(c.nextRoot[:], okm[:32])
	c.links = append(c.links, c.linkFrom(okm[:]))
}

func (c *chain) checkAddEpoch(epoch uint64) error {
	if c.current == math.MaxUint64 || epoch != c.current+1 {
		return fmt.Errorf("%w: epoch secret %d does not follow chain epoch %d", ErrStateDecode, epoch, c.current)
	}
	return nil
}

// step advances the chain key: the counter goes first, so the first key has
// counter 1.
func (d *chainDir) step() (uint32, [32]byte) {
	d.ctr++
	var okm [64]byte
	ctr := be32(d.ctr)
	kdf.HKDF(okm[:], zeroSalt, d.next[:], ctr[:], labelChainNext)
	copy(d.next[:], okm[:32])
	return d.ctr, [32]byte(okm[32:])
}

func (d *chainDir) find(at uint32) (int, bool) {
	i := sort.Search(len(d.prev), func(i int) bool { return d.prev[i].idx >= at })
	return i, i < len(d.prev) && d.prev[i].idx == at
}

// checkKey reports whether key(at) would succeed, without changing anything.
func (d *chainDir) checkKey(at uint32, p ChainParams) error {
	switch {
	case at > d.ctr:
		if uint64(at-d.ctr) > p.maxJump() {
			return fmt.Errorf("%w: from %d to %d", ErrKeyJump, d.ctr, at)
		}
		if !d.hasNext {
			return fmt.Errorf("%w: retired chain", ErrStateDecode)
		}
		return nil
	case at < d.ctr:
		if uint64(at)+p.maxOOO() < uint64(d.ctr) {
			return fmt.Errorf("%w: index %d", ErrKeyTrimmed, at)
		}
		if _, ok := d.find(at); !ok {
			return fmt.Errorf("%w: index %d", ErrKeyAlreadyRequested, at)
		}
		return nil
	default:
		return fmt.Errorf("%w: index %d", ErrKeyAlreadyRequested, at)
	}
}

// key returns the key of message index at; checkKey must have passed.
func (d *chainDir) key(at uint32, p ChainParams) [32]byte {
	if at < d.ctr {
		i, _ := d.find(at)
		k := d.prev[i].key
		d.prev = append(d.prev[:i:i], d.prev[i+1:]...)
		return k
	}
	maxOOO := p.maxOOO()
	if uint64(at) > uint64(d.ctr)+maxOOO {
		// Every key held now would be trimmed anyway.
		d.prev = nil
	}
	for at > d.ctr+1 {
		idx, k := d.step()
		if uint64(idx)+maxOOO >= uint64(at) {
			d.prev = append(d.prev, storedKey{idx: idx, key: k})
		}
	}
	// Keys more than maxOOO behind are unreachable (checkKey reports them
	// trimmed), so drop them now; this bounds prev at maxOOO entries.
	horizon := uint64(at)
	cut := 0
	for cut < len(d.prev) && uint64(d.prev[cut].idx)+maxOOO < horizon {
		cut++
	}
	if cut > 0 {
		d.prev = append([]storedKey(nil), d.prev[cut:]...)
	}
	_, k := d.step()
	return k
}

// epochIndex maps an epoch to its position in links, given that pending more
// links (0 or 1) are about to be added.
func (c *chain) epochIndex(epoch uint64, pending int) (int, error) {
	current := c.current + uint64(pending)
	n := uint64(len(c.links) + pending)
	if epoch > current {
		return 0, fmt.Errorf("%w: %d", ErrEpochOutOfRange, epoch)
	}
	back := current - epoch
	if back >= n {
		return 0, fmt.Errorf("%w: %d", ErrEpochOutOfRange, epoch)
	}
	return int(n - 1 - back), nil
}

// checkSendKey reports whether sendKey(epoch) would succeed after pending
// (0 or 1) new epochs are added.
func (c *chain) checkSendKey(epoch uint64, pending int) error {
	if epoch < c.sendEpoch {
		return fmt.Errorf("%w: %d to %d", ErrSendEpochDecreased, c.sendEpoch, epoch)
	}
	i, err := c.epochIndex(epoch, pending)
	if err != nil {
		return err
	}
	if i < len(c.links) {
		d := &c.links[i].send
		if !d.hasNext {
			return fmt.Errorf("%w: retired send chain", ErrStateDecode)
		}
		if d.ctr == math.MaxUint32 {
			return ErrChainExhausted
		}
	}
	return nil
}

// sendKey returns the next sending key of epoch; checkSendKey must have passed.
func (c *chain) sendKey(epoch uint64) (uint32, [32]byte) {
	i, _ := c.epochIndex(epoch, 0)
	if c.sendEpoch != epoch {
		c.sendEpoch = epoch
		if drop := i - epochsKeptBeforeSendEpoch; drop > 0 {
			c.links = append([]chainEpoch(nil), c.links[drop:]...)
			i -= drop
		}
		// The peer has moved on: never send on an older epoch again.
		for j := 0; j < i; j++ {
			c.links[j].send.hasNext = false
			c.links[j].send.next = [32]byte{}
		}
	}
	return c.links[i].send.step()
}

// checkRecvKey reports whether recvKey(epoch, index) would succeed after
// pending (0 or 1) new epochs are added.
func (c *chain) checkRecvKey(epoch uint64, index uint32, pending int) error {
	i, err := c.epochIndex(epoch, pending)
	if err != nil {
		return err
	}
	if i >= len(c.links) {
		fresh := chainDir{hasNext: true}
		return fresh.checkKey(index, c.params)
	}
	return c.links[i].recv.checkKey(index, c.params)
}

// recvKey returns the key of message index in epoch; checkRecvKey must have
// passed.
func (c *chain) recvKey(epoch uint64, index uint32) [32]byte {
	i, _ := c.epochIndex(epoch, 0)
	return c.links[i].recv.key(index, c.params)
}

// cloneInto makes n a copy of c that shares nothing written later: links
// go into a new array (links, when it is large enough), and each prev is
// capped so that an append reallocates instead of writing into the shared
// array (chainDir.key never writes prev's elements in place).
func (c *chain) cloneInto(n *chain, links []chainEpoch) {
	*n = *c
	n.links = append(links[:0], c.links...)
	for i := range n.links {
		l := &n.links[i]
		l.send.prev = l.send.prev[:len(l.send.prev):len(l.send.prev)]
		l.recv.prev = l.recv.prev[:len(l.recv.prev):len(l.recv.prev)]
	}
}
