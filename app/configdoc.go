package app

import (
	"fmt"
	"strings"
)

// ConfigReference is the table of docs/config.md: every setting, its flag
// and environment variable, its form and its default. A test keeps the
// document equal to it, so the reference cannot fall behind the code.
func ConfigReference() string {
	usage := map[string]string{}
	for _, o := range overrides() {
		usage[o.name] = o.usage
	}
	defaults := Default()
	var b strings.Builder
	b.WriteString("| setting | environment variable | form | default | meaning |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, name := range settingNames() {
		v, _ := settingField(&defaults, name)
		def := display(v)
		if def == "" {
			def = "(empty)"
		}
		if name == "node.id" || name == "node.data_dir" || name == "cluster.initial_members" {
			def = "required"
		}
		env := "`" + EnvName(name) + "`"
		meaning := usage[name]
		if meaning == "" {
			env, meaning = "file only", "see seshat.example.toml"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", name, env,
			strings.ReplaceAll(formOf(name, v), "|", "\\|"), def, strings.ReplaceAll(meaning, "|", "\\|"))
	}
	return b.String()
}
