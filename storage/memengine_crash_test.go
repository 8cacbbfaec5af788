package storage

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"pgregory.net/rapid"
)

// TestMemEngineCrashMatchesPebble drives Pebble on a crashable file
// system and the twin through the same batches and compares what a
// machine crash leaves (synced data only) with what Pebble recovers from
// the same crash: a synced commit must make every earlier one durable,
// and nothing else may be. It also covers what TestMemEngineMatchesPebble
// does not: plain (unindexed) batches, empty synced commits, an indexed
// batch's iterators held while the batch grows, iterators of snapshots
// held across commits, and the caller reusing the buffers it wrote from.
func TestMemEngineCrashMatchesPebble(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fs, disk := vfs.NewCrashableMem(), NewMemDisk()
		pe, me := openTwins(t, fs, disk)
		var pb, mb engineBatch
		type iterPair struct{ p, m iterator }
		var batchIters []iterPair // over the open batch
		var iters []iterPair      // over the engines or their snapshots
		type snapPair struct{ p, m engineSnapshot }
		var snaps []snapPair
		var did []string
		same := func(what, p, m string) {
			if p != m {
				t.Fatalf("%s: pebble says %s, the twin says %s, after %q", what, p, m, did)
			}
		}
		walk := func(i iterator) string {
			var out bytes.Buffer
			for ok := i.First(); ok; ok = i.Next() {
				fmt.Fprintf(&out, "%q=%q ", i.Key(), i.Value())
			}
			if i.Next() {
				out.WriteString("next after the end ")
			}
			if i.Last() {
				fmt.Fprintf(&out, "last %q ", i.Key())
				if i.Next() {
					fmt.Fprintf(&out, "next after last %q", i.Key())
				}
			}
			return out.String()
		}
		closeBatch := func() {
			for _, it := range batchIters {
				_, _ = it.p.Close(), it.m.Close()
			}
			batchIters = nil
			if pb != nil {
				_, _ = pb.Close(), mb.Close()
				pb, mb = nil, nil
			}
		}
		closeViews := func() {
			closeBatch()
			for _, it := range iters {
				_, _ = it.p.Close(), it.m.Close()
			}
			iters = nil
			for _, s := range snaps {
				_, _ = s.p.Close(), s.m.Close()
			}
			snaps = nil
		}
		write := func(b1, b2 engineBatch, label string) {
			k := drawKey(t, label+" key")
			// The callers' buffers are theirs again once a write returns.
			kb := append([]byte{}, k...)
			switch rapid.IntRange(0, 2).Draw(t, label+" op") {
			case 0:
				v := []byte(rapid.StringN(0, 3, 3).Draw(t, label+" value"))
				vb := append([]byte{}, v...)
				_, _ = b1.Set(kb, vb, nil), b2.Set(kb, vb, nil)
				copy(vb, "XXX")
				did = append(did, fmt.Sprintf("%s set %q %q", label, k, v))
			case 1:
				_, _ = b1.Delete(kb, nil), b2.Delete(kb, nil)
				did = append(did, fmt.Sprintf("%s delete %q", label, k))
			case 2:
				end := drawKey(t, label+" end")
				if bytes.Compare(k, end) > 0 {
					k, end = end, k
					kb = append([]byte{}, k...)
				}
				_, _ = b1.DeleteRange(kb, end, nil), b2.DeleteRange(kb, end, nil)
				did = append(did, fmt.Sprintf("%s delete range %q %q", label, k, end))
			}
			copy(kb, "ZZZ")
		}
		drawSync := func() *pebble.WriteOptions {
			if rapid.Bool().Draw(t, "sync") {
				return pebble.Sync
			}
			return pebble.NoSync
		}
		commit := func(b1, b2 engineBatch, opts *pebble.WriteOptions, label string) {
			if err := b1.Commit(opts); err != nil {
				t.Fatalf("pebble commit: %v", err)
			}
			if err := b2.Commit(opts); err != nil {
				t.Fatalf("twin commit: %v", err)
			}
			did = append(did, fmt.Sprint(label, " commit sync=", opts.Sync))
		}
		t.Repeat(map[string]func(*rapid.T){
			"write": func(t *rapid.T) {
				if pb == nil {
					pb, mb = pe.NewIndexedBatch(), me.NewIndexedBatch()
				}
				write(pb, mb, "indexed")
				same("batch count", fmt.Sprint(pb.Count()), fmt.Sprint(mb.Count()))
			},
			"open batch iterator": func(t *rapid.T) {
				if pb == nil {
					t.Skip("no batch open")
				}
				o := drawBounds(t)
				pi, _ := pb.NewIter(o)
				mi, _ := mb.NewIter(o)
				batchIters = append(batchIters, iterPair{pi, mi})
				did = append(did, "open batch iterator")
			},
			"read batch iterator": func(t *rapid.T) {
				if len(batchIters) == 0 {
					t.Skip("no batch iterator")
				}
				it := batchIters[rapid.IntRange(0, len(batchIters)-1).Draw(t, "iterator")]
				same("batch iterator", walk(it.p), walk(it.m))
			},
			"read batch": func(t *rapid.T) {
				if pb == nil {
					t.Skip("no batch open")
				}
				k := drawKey(t, "key")
				same("batch get "+string(k), getString(pb, k), getString(mb, k))
			},
			"commit": func(t *rapid.T) {
				if pb == nil {
					t.Skip("no batch open")
				}
				for _, it := range batchIters {
					_, _ = it.p.Close(), it.m.Close()
				}
				batchIters = nil
				commit(pb, mb, drawSync(), "indexed")
				closeBatch()
			},
			"plain batch": func(t *rapid.T) {
				b1, b2 := pe.NewBatch(), me.NewBatch()
				for range rapid.IntRange(0, 4).Draw(t, "writes") {
					write(b1, b2, "plain")
				}
				same("plain batch emptiness", fmt.Sprint(b1.Empty()), fmt.Sprint(b2.Empty()))
				same("plain batch count", fmt.Sprint(b1.Count()), fmt.Sprint(b2.Count()))
				commit(b1, b2, drawSync(), "plain")
				_, _ = b1.Close(), b2.Close()
			},
			"read": func(t *rapid.T) {
				k := drawKey(t, "key")
				same("get "+string(k), getString(pe, k), getString(me, k))
			},
			"snapshot": func(t *rapid.T) {
				snaps = append(snaps, snapPair{pe.NewSnapshot(), me.NewSnapshot()})
				did = append(did, "snapshot")
			},
			"open iterator": func(t *rapid.T) {
				o := drawBounds(t)
				var pi, mi iterator
				if len(snaps) > 0 && rapid.Bool().Draw(t, "of a snapshot") {
					s := snaps[rapid.IntRange(0, len(snaps)-1).Draw(t, "snapshot")]
					pi, _ = s.p.NewIter(o)
					mi, _ = s.m.NewIter(o)
					did = append(did, "open snapshot iterator")
				} else {
					pi, _ = pe.NewIter(o)
					mi, _ = me.NewIter(o)
					did = append(did, "open iterator")
				}
				iters = append(iters, iterPair{pi, mi})
			},
			"read iterator": func(t *rapid.T) {
				if len(iters) == 0 {
					t.Skip("no iterator")
				}
				it := iters[rapid.IntRange(0, len(iters)-1).Draw(t, "iterator")]
				same("open iterator", walk(it.p), walk(it.m))
			},
			"close iterator": func(t *rapid.T) {
				if len(iters) == 0 {
					t.Skip("no iterator")
				}
				i := rapid.IntRange(0, len(iters)-1).Draw(t, "iterator")
				_, _ = iters[i].p.Close(), iters[i].m.Close()
				iters = append(iters[:i], iters[i+1:]...)
				did = append(did, "close iterator")
			},
			"reopen": func(t *rapid.T) {
				closeViews() // Close makes the unsynced batches durable, in both
				if err := pe.Close(); err != nil {
					t.Fatalf("pebble close: %v", err)
				}
				if err := me.Close(); err != nil {
					t.Fatalf("twin close: %v", err)
				}
				pe, me = openTwins(t, fs, disk)
				did = append(did, "reopen")
			},
			"crash": func(t *rapid.T) {
				closeViews()
				pimg := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
				mimg := disk.Image(0)
				_, _ = pe.Close(), me.Close()
				fs, disk = pimg, mimg
				pe, me = openTwins(t, fs, disk)
				did = append(did, "crash")
				same("after a crash", readAll(t, pe, &pebble.IterOptions{}), readAll(t, me, &pebble.IterOptions{}))
			},
		})
		closeViews()
		_, _ = pe.Close(), me.Close()
	})
}

// TestMemDiskCrashKeepsAPrefix: a crash image that keeps the first
// k unsynced batches holds exactly the synced state with those k batches
// replayed, when batches mix sets, deletes and range deletions (whose
// undo restores every key they removed), with a failed sync among them.
func TestMemDiskCrashKeepsAPrefix(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		disk := NewMemDisk()
		e, err := openMem(disk)
		if err != nil {
			t.Fatal(err)
		}
		failNext := false
		disk.SyncHook = func() error {
			if failNext {
				failNext = false
				return fmt.Errorf("injected")
			}
			return nil
		}
		type op struct {
			kind       int // 0 set, 1 delete, 2 delete range
			key, value string
		}
		play := func(m map[string]string, ops []op) {
			for _, o := range ops {
				switch o.kind {
				case 0:
					m[o.key] = o.value
				case 1:
					delete(m, o.key)
				case 2:
					for k := range m {
						if k >= o.key && k < o.value {
							delete(m, k)
						}
					}
				}
			}
		}
		durable := map[string]string{}
		var pending [][]op
		for i := range rapid.IntRange(1, 20).Draw(t, "batches") {
			b := e.NewBatch()
			var ops []op
			for j := range rapid.IntRange(0, 4).Draw(t, "writes") {
				k := string(drawKey(t, "key"))
				switch rapid.IntRange(0, 2).Draw(t, "kind") {
				case 0:
					v := fmt.Sprint(i, j)
					ops = append(ops, op{0, k, v})
					_ = b.Set([]byte(k), []byte(v), nil)
				case 1:
					ops = append(ops, op{1, k, ""})
					_ = b.Delete([]byte(k), nil)
				case 2:
					end := string(drawKey(t, "end"))
					if k > end {
						k, end = end, k
					}
					ops = append(ops, op{2, k, end})
					_ = b.DeleteRange([]byte(k), []byte(end), nil)
				}
			}
			sync := rapid.Bool().Draw(t, "sync")
			failNext = sync && len(ops) > 0 && rapid.IntRange(0, 5).Draw(t, "fail") == 0
			fail := failNext
			opts := pebble.NoSync
			if sync {
				opts = pebble.Sync
			}
			if err := b.Commit(opts); (err != nil) != fail {
				t.Fatalf("batch %d: commit error %v, injected failure %v", i, err, fail)
			}
			if len(ops) > 0 {
				pending = append(pending, ops)
			}
			if sync && !fail && len(ops) > 0 {
				for _, p := range pending {
					play(durable, p)
				}
				pending = nil
			}
			if fail {
				break // fail-stop, as the store does
			}
		}
		if disk.Unsynced() != len(pending) {
			t.Fatalf("disk holds %d unsynced batches, the model %d", disk.Unsynced(), len(pending))
		}
		for keep := range len(pending) + 1 {
			want := map[string]string{}
			for k, v := range durable {
				want[k] = v
			}
			for _, p := range pending[:keep] {
				play(want, p)
			}
			img, err := openMem(disk.Image(keep))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			it, _ := img.NewIter(nil)
			for ok := it.First(); ok; ok = it.Next() {
				got[string(it.Key())] = string(it.Value())
			}
			_ = it.Close()
			_ = img.Close()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("crash image keeping %d of %d unsynced batches holds %v, want %v", keep, len(pending), got, want)
			}
		}
		// The live state is every batch, synced or not.
		all := map[string]string{}
		for k, v := range durable {
			all[k] = v
		}
		for _, p := range pending {
			play(all, p)
		}
		got := map[string]string{}
		it, _ := e.NewIter(nil)
		for ok := it.First(); ok; ok = it.Next() {
			got[string(it.Key())] = string(it.Value())
		}
		_ = it.Close()
		if fmt.Sprint(got) != fmt.Sprint(all) {
			t.Fatalf("live state %v, want %v", got, all)
		}
		_ = e.Close()
	})
}
