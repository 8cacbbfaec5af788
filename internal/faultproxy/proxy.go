// Package faultproxy is a TCP proxy that can cut a link the way a dropping
// firewall does, for tests that run real processes on loopback: no root,
// no iptables.
//
// A cut (Block) stops forwarding in one or both directions. Bytes are not
// lost and not corrupted: the proxy stops reading, so the sender's kernel
// buffer fills and its writes stall, as with packets that are never
// acknowledged. Connections that were open during a cut stay stuck after
// Heal, as TCP's backed-off retransmission keeps a real connection stuck
// for up to minutes; only connections made after the heal carry data. A
// program that does not notice a silent connection and redial never
// recovers through this proxy, which is the point.
//
// SetLatency delays each direction: every chunk of bytes is written on a
// fixed time after it was read, whatever came before it, as a slow link
// delays packets (not a slow reader: throughput is not limited).
package faultproxy

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections from its listener to one target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	changed *sync.Cond
	// blocked[0] cuts client->target, blocked[1] target->client.
	blocked [2]bool
	delay   [2]time.Duration // per direction, as blocked
	loss    [2]float64       // percent of chunks lost per direction, as blocked
	conns   map[*link]struct{}
	closed  bool
	wg      sync.WaitGroup
}

type link struct {
	client, server net.Conn
	stuck          [2]bool // this direction was cut while the link was open
	done           bool    // one direction ended: the other ends too
}

// New listens on listen (host:port; port 0 picks one) and forwards every
// accepted connection to target.
func New(listen, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[*link]struct{}{}}
	p.changed = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Block cuts the client->target direction (forward) and/or the
// target->client one (backward). Block(false, false) is Heal.
func (p *Proxy) Block(forward, backward bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = [2]bool{forward, backward}
	for l := range p.conns {
		for dir := range 2 {
			if p.blocked[dir] {
				l.stuck[dir] = true
			}
		}
	}
	p.changed.Broadcast()
}

// SetLatency delays bytes client->target by forward and target->client
// by backward, from now on (bytes already read keep the delay they had).
func (p *Proxy) SetLatency(forward, backward time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = [2]time.Duration{forward, backward}
}

// SetLoss loses forward percent of the chunks client->target and
// backward percent target->client, from now on. TCP retransmits a lost
// segment after its retransmission timeout (200 ms at least on Linux,
// doubling while the copies are lost too), and nothing behind it is
// delivered until it is: so a lost chunk arrives that much later, and
// holds up the chunks after it, but the stream stays intact.
func (p *Proxy) SetLoss(forward, backward float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loss = [2]float64{forward, backward}
}

// retransmitRTOMin is Linux's smallest TCP retransmission timeout.
const retransmitRTOMin = 200 * time.Millisecond

// lossDelay draws how much later than sent a chunk arrives when percent
// of what is sent is lost: each lost copy costs a retransmission timeout,
// which doubles each time.
func lossDelay(percent float64) time.Duration {
	var d time.Duration
	for rto := retransmitRTOMin; percent > 0 && rand.Float64()*100 < percent && d < 30*time.Second; rto *= 2 {
		d += rto
	}
	return d
}

// Heal lets new connections through again. Connections that lived
// through the cut stay stuck.
func (p *Proxy) Heal() { p.Block(false, false) }

// Close stops the proxy and closes every connection through it.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for l := range p.conns {
		_ = l.client.Close()
		_ = l.server.Close()
	}
	p.changed.Broadcast()
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		l := &link{client: c, server: s}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			_ = s.Close()
			return
		}
		l.stuck = p.blocked
		p.conns[l] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(l, 0, s, c)
		go p.pump(l, 1, c, s)
	}
}

// chunk is bytes read from one side, due to be written at due.
type chunk struct {
	b   []byte
	due time.Time
}

// pump copies src to dst in direction dir while that direction is open
// for this link: a reader, and a writer that holds each chunk until its
// latency has passed.
func (p *Proxy) pump(l *link, dir int, dst, src net.Conn) {
	defer p.wg.Done()
	end := func() {
		_ = dst.Close()
		_ = src.Close()
		p.mu.Lock()
		delete(p.conns, l)
		l.done = true
		p.changed.Broadcast()
		p.mu.Unlock()
	}
	defer end()
	chunks := make(chan chunk, 256)
	writerDone := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(writerDone)
		defer end()
		for c := range chunks {
			if d := time.Until(c.due); d > 0 {
				time.Sleep(d)
			}
			// A cut that began while the chunk waited catches it: the
			// link stays stuck, so it never passes.
			if !p.waitOpen(l, dir) {
				return
			}
			if _, err := dst.Write(c.b); err != nil {
				return
			}
		}
	}()
	defer close(chunks)
	for {
		if !p.waitOpen(l, dir) {
			return
		}
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			due := time.Now().Add(p.delay[dir] + lossDelay(p.loss[dir]))
			p.mu.Unlock()
			select {
			case chunks <- chunk{b: buf[:n], due: due}:
			case <-writerDone:
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection: either way the link is over
		}
	}
}

// waitOpen blocks while dir is cut for l; false once the link or the
// proxy is over.
func (p *Proxy) waitOpen(l *link, dir int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.closed && !l.done && l.stuck[dir] {
		p.changed.Wait()
	}
	return !p.closed && !l.done
}
