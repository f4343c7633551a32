package client

import (
	"bytes"
	"image"
	_ "image/gif" // decoders Thumbnail reads
	"image/jpeg"
	_ "image/png"
	"io"
)

// Thumbnails are small JPEGs made by the sender, shown before the media is
// fetched.
const (
	thumbSide     = 100        // longest side, pixels
	maxThumbPixel = 64_000_000 // larger images are not decoded (memory)
)

// Thumbnail decodes an image (JPEG, PNG or GIF) and returns a JPEG of at
// most 100 pixels a side, with the image's width and height; ok is false
// for what it cannot decode or would not fit in memory.
func Thumbnail(r io.ReadSeeker) (thumb []byte, width, height int, ok bool) {
	cfg, _, err := image.DecodeConfig(r)
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxThumbPixel {
		return nil, 0, 0, false
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, 0, 0, false
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, 0, 0, false
	}
	small := shrink(img, thumbSide)
	for _, q := range []int{70, 50, 30} {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, small, &jpeg.Options{Quality: q}); err != nil {
			return nil, 0, 0, false
		}
		if b.Len() <= MaxThumbnailSize {
			return b.Bytes(), cfg.Width, cfg.Height, true
		}
	}
	return nil, cfg.Width, cfg.Height, false
}

// shrink scales img to fit side × side by averaging up to 4 × 4 samples
// of each target pixel's source area: a box filter, cheap even for a
// photo of many megapixels, and enough for a thumbnail.
func shrink(img image.Image, side int) *image.RGBA {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	w, h := sw, sh
	if w > side || h > side {
		if w >= h {
			w, h = side, max(1, sh*side/sw)
		} else {
			w, h = max(1, sw*side/sh), side
		}
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		y0, y1 := b.Min.Y+y*sh/h, b.Min.Y+max((y+1)*sh/h, y*sh/h+1)
		for x := range w {
			x0, x1 := b.Min.X+x*sw/w, b.Min.X+max((x+1)*sw/w, x*sw/w+1)
			var r, g, bl, a, n uint64
			dy, dx := max(1, (y1-y0)/4), max(1, (x1-x0)/4)
			for sy := y0; sy < y1; sy += dy {
				for sx := x0; sx < x1; sx += dx {
					cr, cg, cb, ca := img.At(sx, sy).RGBA()
					r, g, bl, a, n = r+uint64(cr), g+uint64(cg), bl+uint64(cb), a+uint64(ca), n+1
				}
			}
			i := out.PixOffset(x, y)
			out.Pix[i+0] = uint8(r / n >> 8)
			out.Pix[i+1] = uint8(g / n >> 8)
			out.Pix[i+2] = uint8(bl / n >> 8)
			out.Pix[i+3] = uint8(a / n >> 8)
		}
	}
	return out
}
