package resp

// This file holds COMMAND and its subcommands. Their entries are Redis
// 7.0's own for the same commands (see commandtable_gen.go), with the
// subcommands Seshat lacks left out, so that redis-cli's hints and client
// libraries' key extraction work as against Redis.

// commandEntry returns COMMAND INFO's entry for c.
func commandEntry(c *command) []byte {
	if s, ok := redisCommandInfo[c.name]; ok {
		return []byte(s)
	}
	// NB: only a command that Redis 7.0 lacks gets here; none does today,
	// and the generator test checks that every entry exists.
	out := AppendArray(nil, 10)
	out = AppendBulkString(out, c.name)
	out = AppendInt(out, int64(c.arity))
	out = AppendArray(out, 0)
	out = AppendInt(out, 0)
	out = AppendInt(out, 0)
	out = AppendInt(out, 0)
	for range 4 {
		out = AppendArray(out, 0)
	}
	return out
}

func commandDocEntry(c *command) []byte {
	if s, ok := redisCommandDocs[c.name]; ok {
		return []byte(s)
	}
	return AppendArray(nil, 0)
}

// commandList is COMMAND with no subcommand: every command's entry.
func (e *Executor) commandList(args [][]byte, reply func([]byte)) {
	out := AppendArray(nil, len(commands))
	for _, c := range commands {
		out = append(out, commandEntry(c)...)
	}
	reply(out)
}

func (e *Executor) commandCount(args [][]byte, reply func([]byte)) {
	reply(AppendInt(nil, int64(len(commands))))
}

// commandInfo is COMMAND INFO [name ...]: an entry, or a null for an
// unknown name, for each name; every command's entry for none.
func (e *Executor) commandInfo(args [][]byte, reply func([]byte)) {
	if len(args) == 2 {
		e.commandList(args, reply)
		return
	}
	out := AppendArray(nil, len(args)-2)
	for _, name := range args[2:] {
		if c := lookup(commands, name); c != nil {
			out = append(out, commandEntry(c)...)
		} else {
			out = AppendNull(out)
		}
	}
	reply(out)
}

// commandDocs is COMMAND DOCS [name ...]: a flat map from each known
// name to its docs; every command's for none. Unknown names are left out.
func (e *Executor) commandDocs(args [][]byte, reply func([]byte)) {
	found := commands
	if len(args) > 2 {
		found = nil
		for _, name := range args[2:] {
			if c := lookup(commands, name); c != nil {
				found = append(found, c)
			}
		}
	}
	out := AppendArray(nil, 2*len(found))
	for _, c := range found {
		out = AppendBulkString(out, c.name)
		out = append(out, commandDocEntry(c)...)
	}
	reply(out)
}

// commandNames is COMMAND LIST. Its FILTERBY clause is not supported.
func (e *Executor) commandNames(args [][]byte, reply func([]byte)) {
	if len(args) > 2 {
		replyErr(reply, errSyntax)
		return
	}
	out := AppendArray(nil, len(commands))
	for _, c := range commands {
		out = AppendBulkString(out, c.name)
	}
	reply(out)
}
