package gateway

import (
	"github.com/parley-im/parley/internal/media"
	"github.com/parley-im/parley/proto/wirepb"
)

func (c *conn) handleCreateUpload(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetCreateUpload()
	if r.Size > 1<<62 {
		return nil, media.ErrTooLarge
	}
	u, err := c.s.Media.CreateUpload(c.ctx, c.addr, int64(r.Size), r.Sha256, r.Downloads)
	if err != nil {
		return nil, err
	}
	return &wirepb.Response{Result: &wirepb.Response_Upload{Upload: &wirepb.UploadResult{
		MediaId: u.ID[:], UploadPath: u.Path, Token: u.Token, ChunkBytes: uint32(u.Chunk), ExpiresMs: u.Expires.UnixMilli()}}}, nil
}

func (c *conn) handleGetMediaToken(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	d, err := c.s.Media.DownloadToken(c.ctx, c.addr, f.GetGetMediaToken().MediaId)
	if err != nil {
		return nil, err
	}
	return &wirepb.Response{Result: &wirepb.Response_MediaToken{MediaToken: &wirepb.MediaTokenResult{
		DownloadPath: d.Path, Token: d.Token, Size: uint64(d.Size), ExpiresMs: d.Expires.UnixMilli()}}}, nil
}
