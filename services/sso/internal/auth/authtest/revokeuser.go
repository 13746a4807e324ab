package authtest

import "context"

// RevokeUser revokes every live family of the user and returns how many.
func (m *Sessions) RevokeUser(_ context.Context, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, t := range m.tokens {
		if t.v.UserID != userID {
			continue
		}
		f, ok := m.families[t.v.Family]
		if !ok || f.v.revoked || !m.now().Before(f.until) {
			continue
		}
		f.v.revoked = true
		m.families[t.v.Family] = f
		n++
	}
	return n, nil
}
