package sim

import "strconv"

// Retiring keys. A write whose outcome is unknown (no reply before a
// crash or a timeout) may have taken effect anywhere after its call, so
// porcupine tries it at every place, and every subset of a key's unknown
// writes that a later read could be explained by: 2^u orders of search
// for u of them, worst for APPENDs, whose every subset leaves another
// value. Under held messages a key gathered 20 (held seed 10 with
// transactions on: its check took 60 s of a 180 s budget on one key).
// So the single-key workload's key i is retired once unknownPerKey of
// its writes went unknown: later commands name a fresh key in its place
// (k<i>.<generation>), which porcupine judges on its own. Generation 0
// keeps the plain name k<i>, so a run without unknown writes is as before.
const unknownPerKey = 4

type keyGens struct {
	gen     []int          // key i's generation
	unknown []int          // its current generation's unknown writes
	index   map[string]int // a current name: its key
}

// name is the current name of key i.
func (k *keyGens) name(i int) string {
	if k.index == nil {
		k.index = map[string]int{}
	}
	for len(k.gen) <= i {
		k.gen = append(k.gen, 0)
		k.unknown = append(k.unknown, 0)
	}
	name := "k" + strconv.Itoa(i)
	if g := k.gen[i]; g > 0 {
		name += "." + strconv.Itoa(g)
	}
	k.index[name] = i
	return name
}

// noteUnknown counts an unknown write to key, retiring it at the bound.
// A write to a retired generation counts for nothing: its key is judged
// on its own and takes no new commands.
func (k *keyGens) noteUnknown(key string) {
	i, ok := k.index[key]
	if !ok {
		return
	}
	if k.unknown[i]++; k.unknown[i] >= unknownPerKey {
		delete(k.index, key)
		k.gen[i]++
		k.unknown[i] = 0
	}
}
