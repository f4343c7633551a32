package pix

// crcTable is CRC-16/CCITT-FALSE (also catalogued as CRC-16/IBM-3740):
// polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc16 is the BR Code checksum. The manual computes it over every byte of
// the payload up to and including the "6304" that opens field 63.
func crc16(s string) uint16 {
	c := uint16(0xFFFF)
	for i := 0; i < len(s); i++ {
		c = c<<8 ^ crcTable[byte(c>>8)^s[i]]
	}
	return c
}

const hexDigits = "0123456789ABCDEF"

// crcHex renders the checksum as the manual wants it: four upper-case hex
// digits, leading zeros kept.
func crcHex(c uint16) string {
	return string([]byte{hexDigits[c>>12], hexDigits[c>>8&0xF], hexDigits[c>>4&0xF], hexDigits[c&0xF]})
}
