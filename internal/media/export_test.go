package media

// SignToken makes a token with s's key, as a server would, for tests of
// what the server refuses of a well-signed token.
func SignToken(s *Service, t Token) string { return sign(s.key, t) }
