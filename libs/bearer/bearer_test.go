package bearer_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/ssokit/platform/libs/bearer"
)

func TestToken(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"none", nil, ""},
		{"bearer", []string{"Bearer abc.def"}, "abc.def"},
		{"scheme in any case, spaces trimmed", []string{"  bEaReR   abc  "}, "abc"},
		{"other scheme", []string{"Basic dXNlcjpwYXNz"}, ""},
		{"no token after the scheme", []string{"Bearer"}, ""},
		{"first bearer wins", []string{"Basic x", "Bearer one", "Bearer two"}, "one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tt.values != nil {
				md := metadata.MD{"authorization": tt.values}
				ctx = metadata.NewIncomingContext(ctx, md)
			}
			if got := bearer.Token(ctx); got != tt.want {
				t.Fatalf("Token = %q, want %q", got, tt.want)
			}
		})
	}
}
