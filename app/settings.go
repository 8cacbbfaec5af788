package app

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// The settings are found by walking Config's toml tags, so that a key
// added to a section struct and to overrides() gets its flag type, its
// default in -h, its expected form in errors and its TOML decoding
// without a table of its own to keep in step.

// settingField finds the field a "section.key" name stands for.
func settingField(c *Config, name string) (reflect.Value, bool) {
	section, key, ok := strings.Cut(name, ".")
	if !ok {
		return reflect.Value{}, false
	}
	sec, ok := fieldByTag(reflect.ValueOf(c).Elem(), section)
	if !ok || sec.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	return fieldByTag(sec, key)
}

func fieldByTag(v reflect.Value, tag string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		if tagName(t.Field(i)) == tag {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

// settingNames lists every "section.key" of Config, in declaration order.
func settingNames() []string {
	var out []string
	ct := reflect.TypeOf(Config{})
	for i := range ct.NumField() {
		sec := ct.Field(i)
		for j := range sec.Type.NumField() {
			out = append(out, tagName(sec)+"."+tagName(sec.Type.Field(j)))
		}
	}
	return out
}

var membersType = reflect.TypeOf(Members{})

// formOf says, for a person, what a setting's value looks like.
func formOf(name string, v reflect.Value) string {
	switch {
	case v.Type() == membersType:
		return `members as "id=host:port,id=host:port,..." or [{id = 1, addr = "host:port"}, ...]`
	case v.Kind() == reflect.String && strings.HasSuffix(name, "_addr"):
		return "host:port"
	case v.Kind() == reflect.String:
		return "text"
	case v.Kind() == reflect.Bool:
		return "true or false"
	case v.Kind() == reflect.Uint64:
		return "a whole number, 0 or more"
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		return "a whole number"
	}
	return v.Type().String()
}

// flagType is the one word -h shows after a flag's name.
func flagType(name string, v reflect.Value) string {
	switch {
	case v.Type() == membersType:
		return "id=host:port,..."
	case v.Kind() == reflect.String && strings.HasSuffix(name, "_addr"):
		return "host:port"
	case v.Kind() == reflect.String:
		return "string"
	case v.Kind() == reflect.Bool:
		return "bool"
	case v.Kind() == reflect.Uint64:
		return "uint"
	}
	return "int"
}

// display writes a setting's value as a flag or environment variable
// takes it.
func display(v reflect.Value) string {
	if v.Type() == membersType {
		return v.Interface().(Members).String()
	}
	return fmt.Sprint(v.Interface())
}

// decodeTOMLTable sets c from a decoded TOML document, field by field,
// and answers every key it could not use, each naming the key and the
// form it expected: so an operator never reads a Go type name.
func decodeTOMLTable(c *Config, doc map[string]any) []error {
	var errs []error
	for _, section := range sortedKeys(doc) {
		table, ok := doc[section].(map[string]any)
		sec, found := fieldByTag(reflect.ValueOf(c).Elem(), section)
		switch {
		case !found:
			errs = append(errs, bad(section, "unknown section; the sections are %s", sectionList()))
			continue
		case !ok:
			errs = append(errs, bad(section, "must be a [%s] section of settings", section))
			continue
		}
		for _, key := range sortedKeys(table) {
			name := section + "." + key
			f, found := fieldByTag(sec, key)
			if !found {
				errs = append(errs, bad(name, "unknown setting (see the settings of [%s] in seshat.example.toml)", section))
				continue
			}
			if err := setFromTOML(f, table[key]); err != nil {
				errs = append(errs, bad(name, "%s; expected %s", err, formOf(name, f)))
			}
		}
	}
	return errs
}

func setFromTOML(f reflect.Value, raw any) error {
	if f.Type() == membersType {
		ms, err := membersFromTOML(raw)
		if err == nil {
			f.Set(reflect.ValueOf(ms))
		}
		return err
	}
	switch f.Kind() {
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("%s is not quoted text", tomlShow(raw))
		}
		f.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			return fmt.Errorf("%s is not true or false", tomlShow(raw))
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := raw.(int64)
		if !ok || f.OverflowInt(n) {
			return fmt.Errorf("%s is not a whole number in range", tomlShow(raw))
		}
		f.SetInt(n)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from a file")
		}
		list, ok := raw.([]any)
		if !ok {
			return fmt.Errorf("%s is not a list of quoted texts", tomlShow(raw))
		}
		out := make([]string, len(list))
		for i, v := range list {
			if out[i], ok = v.(string); !ok {
				return fmt.Errorf("%s is not quoted text", tomlShow(v))
			}
		}
		f.Set(reflect.ValueOf(out))
	case reflect.Uint64:
		n, ok := raw.(int64)
		if !ok || n < 0 {
			return fmt.Errorf("%s is not a whole number of 0 or more", tomlShow(raw))
		}
		f.SetUint(uint64(n))
	default:
		return fmt.Errorf("cannot be set from a file")
	}
	return nil
}

// membersFromTOML takes initial_members in either form: the flag's
// "1=host:port,..." text or a list of {id, addr} tables.
func membersFromTOML(raw any) (Members, error) {
	if s, ok := raw.(string); ok {
		return ParseMembers(s)
	}
	list, ok := raw.([]map[string]any)
	if anys, isList := raw.([]any); isList {
		// Inline tables decode as a list of any.
		ok = true
		for _, a := range anys {
			t, isTable := a.(map[string]any)
			if !isTable {
				ok = false
				break
			}
			list = append(list, t)
		}
	}
	if !ok {
		return nil, fmt.Errorf("%s is neither text nor a list of {id, addr} tables", tomlShow(raw))
	}
	out := make(Members, 0, len(list))
	for i, t := range list {
		var m Member
		for _, k := range sortedKeys(t) {
			switch k {
			case "id":
				n, ok := t[k].(int64)
				if !ok || n <= 0 {
					return nil, fmt.Errorf("entry %d: id %s is not a whole number above 0", i, tomlShow(t[k]))
				}
				m.ID = uint64(n)
			case "addr":
				s, ok := t[k].(string)
				if !ok {
					return nil, fmt.Errorf("entry %d: addr %s is not quoted host:port text", i, tomlShow(t[k]))
				}
				m.Addr = s
			default:
				return nil, fmt.Errorf("entry %d: unknown key %q (an entry has id and addr)", i, k)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// tomlShow writes a decoded TOML value back roughly as it was written.
func tomlShow(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "a table"
	case []map[string]any, []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

func sectionList() string {
	var out []string
	ct := reflect.TypeOf(Config{})
	for i := range ct.NumField() {
		out = append(out, "["+tagName(ct.Field(i))+"]")
	}
	return strings.Join(out, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
