package content

import (
	"testing"

	"github.com/statusd/statusd/internal/store"
)

func TestSubscribeValidate(t *testing.T) {
	for _, tc := range []struct {
		in   Subscribe
		ok   bool
		want string
	}{
		{Subscribe{Kind: store.SubscribeEmail, Address: " Ada@EXAMPLE.com "}, true, "Ada@example.com"},
		{Subscribe{Kind: store.SubscribeEmail, Address: "Ada <ada@example.com>"}, false, ""},
		{Subscribe{Kind: store.SubscribeEmail, Address: "ada@example.com\r\nBcc: x@example.com"}, false, ""},
		{Subscribe{Kind: store.SubscribeWebhook, Address: "https://hooks.example/x#frag"}, true, "https://hooks.example/x"},
		{Subscribe{Kind: store.SubscribeWebhook, Address: "https://user:pw@hooks.example/x"}, false, ""},
		{Subscribe{Kind: store.SubscribeWebhook, Address: "ftp://hooks.example/x"}, false, ""},
		{Subscribe{Kind: "sms", Address: "123"}, false, ""},
		{Subscribe{Kind: store.SubscribeEmail, Address: ""}, false, ""},
	} {
		err := tc.in.Validate()
		if (err == nil) != tc.ok || (tc.ok && tc.in.Address != tc.want) {
			t.Errorf("%+v: %v", tc.in, err)
		}
	}
}

// FuzzSubscribe: whatever a visitor types, validation answers without
// panicking, and what it accepts it accepts again as it left it.
func FuzzSubscribe(f *testing.F) {
	for _, s := range []string{"ada@example.com", "https://hooks.example/x", "a@b", "\x00@x", "http://[::1]:80/"} {
		f.Add(store.SubscribeEmail, s)
		f.Add(store.SubscribeWebhook, s)
	}
	f.Fuzz(func(t *testing.T, kind, address string) {
		in := Subscribe{Kind: kind, Address: address}
		if in.Validate() != nil {
			return
		}
		again := in
		if err := again.Validate(); err != nil || again.Address != in.Address {
			t.Errorf("%q validated to %q, which gives %q, %v", address, in.Address, again.Address, err)
		}
	})
}
