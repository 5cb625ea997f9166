package store

import (
	"context"
	"fmt"
	"testing"
)

func TestListKVPagesInKeyOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		st := open(t)
		ctx := context.Background()
		for _, k := range []string{"b", "d", "a", "c", "e"} {
			if err := st.PutKV(ctx, "audit", k, []byte("v"+k)); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.PutKV(ctx, "other", "a0", []byte("x")); err != nil {
			t.Fatal(err)
		}
		var got []string
		after := ""
		for {
			page, err := st.ListKV(ctx, "audit", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, kv := range page {
				got = append(got, kv.Key+"="+string(kv.Value))
			}
			after = page[len(page)-1].Key
		}
		if fmt.Sprint(got) != "[a=va b=vb c=vc d=vd e=ve]" {
			t.Errorf("pages: %v", got)
		}
		page, err := st.ListKV(ctx, "audit", "b", 0)
		if err != nil || len(page) != 3 || page[0].Key != "c" {
			t.Errorf("after b: %v, %v", page, err)
		}
	})
}
