package ledger

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
)

// pageToken is the content of a NextPageToken: the account it pages and the
// last transaction of the page. Clients treat it as opaque; it is not
// secret (it only names a position in a history the caller may read), so
// it is encoded, not encrypted.
type pageToken struct {
	UserID string `json:"u"`
	// At is the CreatedAt of the last transaction, in microseconds since
	// the Unix epoch (PostgreSQL's precision).
	At int64  `json:"t"`
	ID string `json:"i"`
}

func encodePageToken(userID string, c Cursor) string {
	b, _ := json.Marshal(pageToken{UserID: userID, At: c.CreatedAt.UnixMicro(), ID: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

var errPageToken = errors.New("invalid page token")

// decodePageToken returns the cursor of token, which must have been issued
// for userID.
func decodePageToken(token, userID string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Cursor{}, errPageToken
	}
	var p pageToken
	if err := json.Unmarshal(b, &p); err != nil {
		return Cursor{}, errPageToken
	}
	if p.UserID != userID || p.At <= 0 {
		return Cursor{}, errPageToken
	}
	if _, err := uuid.Parse(p.ID); err != nil || len(p.ID) != 36 {
		return Cursor{}, errPageToken
	}
	return Cursor{CreatedAt: time.UnixMicro(p.At).UTC(), ID: p.ID}, nil
}
