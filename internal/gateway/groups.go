package gateway

import (
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// sendGroup is send for a group message: submitted to the group fan-out.
func (c *conn) sendGroup(id uint64, m *wirepb.SendGroup) {
	c.submit(id, func() (func() (bool, error), error) {
		out, err := groupOutgoing(m)
		if err != nil {
			return nil, err
		}
		return c.s.Groups.Submit(c.ctx, c.addr, out)
	})
}

func groupOutgoing(m *wirepb.SendGroup) (group.Outgoing, error) {
	g, err := types.GroupIDFromBytes(m.GroupId)
	if err != nil {
		return group.Outgoing{}, err
	}
	mid, err := types.MessageIDFromBytes(m.MessageId)
	if err != nil {
		return group.Outgoing{}, err
	}
	return group.Outgoing{
		Group: g, MessageID: mid, Content: m.Content, DevicesHash: m.DevicesHash,
		ClientTime: time.UnixMilli(m.ClientTimeMs), Ephemeral: m.Ephemeral,
	}, nil
}

func (c *conn) handleGroupChange(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetGroupChange()
	seq, err := c.s.Groups.Change(c.ctx, c.addr, r.Event, r.InviteToken)
	if err != nil {
		return nil, err
	}
	return &wirepb.Response{Result: &wirepb.Response_GroupChange{GroupChange: &wirepb.GroupChangeResult{Seq: seq}}}, nil
}

func (c *conn) handleGetGroup(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetGetGroup()
	g, err := types.GroupIDFromBytes(r.GroupId)
	if err != nil {
		return nil, err
	}
	raws, err := c.s.Groups.Events(c.ctx, c.addr.Account, g, r.AfterSeq, r.InviteToken)
	if err != nil {
		return nil, err
	}
	res := &wirepb.GroupResult{Events: make([]*wirepb.GroupEvent, len(raws))}
	for i, raw := range raws {
		e := new(wirepb.GroupEvent)
		// Stored by Change after it parsed them: they decode.
		if err := proto.Unmarshal(raw, e); err != nil {
			return nil, err
		}
		res.Events[i] = e
	}
	return &wirepb.Response{Result: &wirepb.Response_Group{Group: res}}, nil
}

func (c *conn) handleGetGroupDevices(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	g, err := types.GroupIDFromBytes(f.GetGetGroupDevices().GroupId)
	if err != nil {
		return nil, err
	}
	d, err := c.s.Groups.Devices(c.ctx, c.addr.Account, g)
	if err != nil {
		return nil, err
	}
	res := &wirepb.GroupDevicesResult{Seq: d.Seq, DevicesHash: d.Hash}
	i := 0
	for _, m := range d.Members {
		md := &wirepb.GroupMemberDevices{Account: m.Account[:]}
		for ; i < len(d.Devices) && d.Devices[i].Account == m.Account; i++ {
			dev := d.Devices[i]
			md.Devices = append(md.Devices, &wirepb.DeviceInfo{
				DeviceId: uint32(dev.ID), RegistrationId: dev.RegistrationID, IdentityKey: dev.IdentityKey})
		}
		res.Members = append(res.Members, md)
	}
	return &wirepb.Response{Result: &wirepb.Response_GroupDevices{GroupDevices: res}}, nil
}

func (c *conn) handleListGroups(*wirepb.ClientFrame) (*wirepb.Response, error) {
	gs, err := c.s.Groups.List(c.ctx, c.addr.Account)
	if err != nil {
		return nil, err
	}
	res := &wirepb.GroupsResult{}
	for _, g := range gs {
		res.Groups = append(res.Groups, &wirepb.GroupSummary{GroupId: g.ID[:], Seq: g.Seq})
	}
	return &wirepb.Response{Result: &wirepb.Response_Groups{Groups: res}}, nil
}
