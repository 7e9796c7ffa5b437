// Command discovery_peer is an independent peer for the discovery interop
// tests, built on grpc-go (the gRPC implementation Talos nodes and Sidero's
// discovery service use) and Go's own AES. It has no generated code: a raw
// codec passes message bytes through and messages are built and parsed by
// hand with protowire, using the field numbers of proto/sidero/discovery.
//
// Usage: discovery_peer MODE ...
//
//	client PORT KEY_HEX  drive a server on 127.0.0.1:PORT, print one JSON line
//	server KEY_HEX       serve on 127.0.0.1; print its port; serve until stdin
//	                     closes, then print one JSON line of what it was sent
package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

const service = "/sidero.discovery.server.Cluster/"

// rawCodec passes message bytes through untouched. Registered under "proto"
// it replaces grpc-go's protobuf codec in this program, so the wire still
// says application/grpc (what Talos sends).
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	switch m := v.(type) {
	case []byte:
		return m, nil
	case *[]byte:
		return *m, nil
	}
	return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*p = append([]byte(nil), data...)
	return nil
}

func init() { encoding.RegisterCodec(rawCodec{}) }

// ---- protobuf by hand ----

func pbBytes(b []byte, n protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbString(b []byte, n protowire.Number, v string) []byte {
	if v == "" {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, v)
}

func pbVarint(b []byte, n protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// message: the length-delimited and varint fields of one message, by number.
type message struct {
	bytes   map[protowire.Number][][]byte
	varints map[protowire.Number][]uint64
}

func parse(b []byte) (message, error) {
	m := message{map[protowire.Number][][]byte{}, map[protowire.Number][]uint64{}}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return m, protowire.ParseError(n)
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return m, protowire.ParseError(n)
			}
			m.bytes[num] = append(m.bytes[num], v)
			b = b[n:]
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return m, protowire.ParseError(n)
			}
			m.varints[num] = append(m.varints[num], v)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return m, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return m, nil
}

func (m message) str(n protowire.Number) string {
	v := m.bytes[n]
	if len(v) == 0 {
		return ""
	}
	return string(v[len(v)-1])
}

func (m message) one(n protowire.Number) []byte {
	v := m.bytes[n]
	if len(v) == 0 {
		return nil
	}
	return v[len(v)-1]
}

func (m message) has(n protowire.Number) bool { return len(m.bytes[n]) > 0 }

func (m message) varint(n protowire.Number) uint64 {
	v := m.varints[n]
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}

// ---- the cluster cipher: AES-256-GCM for data, AES-ECB for endpoints ----

type sealer struct {
	block cipher.Block
	gcm   cipher.AEAD
}

func newSealer(keyHex string) *sealer {
	key, err := hex.DecodeString(keyHex)
	check(err)
	block, err := aes.NewCipher(key)
	check(err)
	gcm, err := cipher.NewGCM(block)
	check(err)
	return &sealer{block, gcm}
}

func (s *sealer) sealData(plain []byte) []byte {
	nonce := make([]byte, s.gcm.NonceSize())
	_, err := rand.Read(nonce)
	check(err)
	return s.gcm.Seal(nonce, nonce, plain, nil)
}

func (s *sealer) openData(sealed []byte) ([]byte, error) {
	n := s.gcm.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed data too short")
	}
	return s.gcm.Open(nil, sealed[:n], sealed[n:], nil)
}

func (s *sealer) sealEndpoint(plain []byte) []byte {
	raw := append([]byte{byte(len(plain))}, plain...)
	for len(raw)%aes.BlockSize != 0 {
		raw = append(raw, 0)
	}
	for i := 0; i < len(raw); i += aes.BlockSize {
		s.block.Encrypt(raw[i:], raw[i:])
	}
	return raw
}

func (s *sealer) openEndpoint(sealed []byte) ([]byte, error) {
	if len(sealed) == 0 || len(sealed)%aes.BlockSize != 0 {
		return nil, errors.New("sealed endpoint is not whole blocks")
	}
	raw := make([]byte, len(sealed))
	for i := 0; i < len(raw); i += aes.BlockSize {
		s.block.Decrypt(raw[i:], sealed[i:])
	}
	if int(raw[0]) >= len(raw) {
		return nil, errors.New("sealed endpoint length is out of range")
	}
	return raw[1 : 1+int(raw[0])], nil
}

// ---- payloads (sidero.discovery.client) ----

func endpoint(ip []byte, port uint64) []byte {
	return pbVarint(pbBytes(nil, 1, ip), 2, port)
}

// payload builds a client Affiliate with a KubeSpan part.
func payload(nodeID string, addr []byte, publicKey string, ksAddr []byte) []byte {
	var b []byte
	b = pbString(b, 1, nodeID)
	b = pbBytes(b, 2, addr)
	b = pbString(b, 3, nodeID+"-host")
	b = pbString(b, 4, nodeID+"-host")
	b = pbString(b, 5, "worker")
	b = pbString(b, 6, "grpc-go")
	ks := pbString(nil, 1, publicKey)
	ks = pbBytes(ks, 2, ksAddr)
	return pbBytes(b, 7, ks)
}

// affiliate builds a server Affiliate: id, opaque data, opaque endpoints.
func affiliate(id string, data []byte, endpoints [][]byte) []byte {
	b := pbString(nil, 1, id)
	if len(data) > 0 {
		b = pbBytes(b, 2, data)
	}
	for _, e := range endpoints {
		b = pbBytes(b, 3, e)
	}
	return b
}

// Opened is one server Affiliate as this peer reads it after decryption.
type Opened struct {
	ID        string          `json:"id"`
	NodeID    string          `json:"node_id"`
	Hostname  string          `json:"hostname"`
	PublicKey string          `json:"public_key"`
	Addresses []string        `json:"addresses"`
	Endpoints [][]interface{} `json:"endpoints"`
	Error     string          `json:"error,omitempty"`
}

func (s *sealer) open(id string, data []byte, endpoints [][]byte) Opened {
	o := Opened{ID: id, Addresses: []string{}, Endpoints: [][]interface{}{}}
	if len(data) > 0 {
		plain, err := s.openData(data)
		if err != nil {
			o.Error = "data: " + err.Error()
			return o
		}
		p, err := parse(plain)
		if err != nil {
			o.Error = "payload: " + err.Error()
			return o
		}
		o.NodeID = p.str(1)
		o.Hostname = p.str(3)
		for _, a := range p.bytes[2] {
			o.Addresses = append(o.Addresses, hex.EncodeToString(a))
		}
		if ks, err := parse(p.one(7)); err == nil {
			o.PublicKey = ks.str(1)
		}
	}
	for _, e := range endpoints {
		plain, err := s.openEndpoint(e)
		if err != nil {
			o.Error = "endpoint: " + err.Error()
			return o
		}
		ep, err := parse(plain)
		if err != nil {
			o.Error = "endpoint: " + err.Error()
			return o
		}
		o.Endpoints = append(o.Endpoints,
			[]interface{}{hex.EncodeToString(ep.one(1)), ep.varint(2)})
	}
	return o
}

// openList opens the repeated Affiliate field 1 of a List/Watch response.
func (s *sealer) openList(resp []byte) ([]Opened, bool, error) {
	m, err := parse(resp)
	if err != nil {
		return nil, false, err
	}
	out := []Opened{}
	for _, raw := range m.bytes[1] {
		a, err := parse(raw)
		if err != nil {
			return nil, false, err
		}
		out = append(out, s.open(a.str(1), a.one(2), a.bytes[3]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, m.varint(2) != 0, nil
}

func ids(list []Opened) []string {
	out := []string{}
	for _, a := range list {
		out = append(out, a.ID)
	}
	return out
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// ---- client mode ----

type client struct {
	conn *grpc.ClientConn
	s    *sealer
}

func (c *client) call(name string, req []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var resp []byte
	err := c.conn.Invoke(ctx, service+name, req, &resp)
	return resp, err
}

func (c *client) must(name string, req []byte) []byte {
	resp, err := c.call(name, req)
	if err != nil {
		check(fmt.Errorf("%s: %w", name, err))
	}
	return resp
}

func (c *client) watch(ctx context.Context, clusterID string) (grpc.ClientStream, error) {
	st, err := c.conn.NewStream(ctx,
		&grpc.StreamDesc{StreamName: "Watch", ServerStreams: true},
		service+"Watch")
	if err != nil {
		return nil, err
	}
	if err := st.SendMsg(pbString(nil, 1, clusterID)); err != nil {
		return nil, err
	}
	return st, st.CloseSend()
}

func recv(st grpc.ClientStream) ([]byte, error) {
	var b []byte
	err := st.RecvMsg(&b)
	return b, err
}

func ttl(seconds, nanos uint64) []byte {
	return pbVarint(pbVarint(nil, 1, seconds), 2, nanos)
}

func (c *client) update(cluster, id string, data []byte, endpoints [][]byte, ttlMsg []byte) []byte {
	b := pbString(nil, 1, cluster)
	b = pbString(b, 2, id)
	if data != nil {
		b = pbBytes(b, 3, data)
	}
	for _, e := range endpoints {
		b = pbBytes(b, 4, e)
	}
	return pbBytes(b, 5, ttlMsg)
}

func statusOf(err error) []string {
	if err == nil {
		return []string{"OK", ""}
	}
	st := status.Convert(err)
	return []string{st.Code().String(), st.Message()}
}

func v4(a, b, c, d byte) []byte { return []byte{a, b, c, d} }

// key is a WireGuard-style public key: 32 bytes of n, base64.
func key(n byte) string {
	k := make([]byte, 32)
	for i := range k {
		k[i] = n
	}
	return base64.StdEncoding.EncodeToString(k)
}

// ula is the address fd00::n.
func ula(n byte) []byte {
	a := make([]byte, 16)
	a[0], a[15] = 0xfd, n
	return a
}

func runClient(port, keyHex string) {
	s := newSealer(keyHex)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, err := grpc.DialContext(ctx, "127.0.0.1:"+port,
		grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	cancel()
	check(err)
	defer conn.Close()
	c := &client{conn, s}
	out := map[string]interface{}{"grpc_version": grpc.Version}

	hello := c.must("Hello", pbString(pbString(nil, 1, "interop"), 2, "grpc-go"))
	h, err := parse(hello)
	check(err)
	out["client_ip"] = hex.EncodeToString(h.one(2))
	out["redirect"] = h.has(1)

	ep := func(ip []byte, port uint64) []byte { return s.sealEndpoint(endpoint(ip, port)) }
	data := func(id string, n byte) []byte {
		return s.sealData(payload(id, v4(10, 20, 0, n), key(n), ula(n)))
	}

	c.must("AffiliateUpdate", c.update("interop", "go-a", data("go-a", 10),
		[][]byte{ep(v4(10, 20, 0, 10), 51820)}, ttl(300, 0)))
	c.must("AffiliateUpdate", c.update("interop", "go-b", data("go-b", 11),
		[][]byte{ep(v4(10, 20, 0, 11), 51820)}, ttl(120, 0)))
	// No data: only adds an endpoint; the server merges it into go-a's.
	c.must("AffiliateUpdate", c.update("interop", "go-a", nil,
		[][]byte{ep([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10}, 51821)},
		ttl(300, 0)))
	// Expires after 0.9 s: TTL given in nanos only.
	c.must("AffiliateUpdate", c.update("interop", "go-short", data("go-short", 12),
		nil, ttl(0, 900_000_000)))

	list, _, err := s.openList(c.must("List", pbString(nil, 1, "interop")))
	check(err)
	out["list"] = list

	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	st, err := c.watch(wctx, "interop")
	check(err)
	snap, err := recv(st)
	check(err)
	snapList, deleted, err := s.openList(snap)
	check(err)
	out["snapshot"] = map[string]interface{}{"deleted": deleted, "ids": ids(snapList)}

	c.must("AffiliateUpdate", c.update("interop", "go-c", data("go-c", 13),
		[][]byte{ep(v4(10, 20, 0, 13), 51820)}, ttl(300, 0)))
	upd, err := recv(st)
	check(err)
	updList, deleted, err := s.openList(upd)
	check(err)
	out["watch_update"] = map[string]interface{}{"deleted": deleted, "affiliates": updList}

	c.must("AffiliateDelete", pbString(pbString(nil, 1, "interop"), 2, "go-b"))
	del, err := recv(st)
	check(err)
	delList, deleted, err := s.openList(del)
	check(err)
	out["watch_delete"] = map[string]interface{}{"deleted": deleted, "ids": ids(delList)}
	wcancel()
	_, err = recv(st)
	out["watch_cancelled"] = statusOf(err)

	long := strings.Repeat("x", 257)
	invalid := map[string][]string{}
	_, err = c.call("Hello", pbString(nil, 1, long))
	invalid["hello_long_cluster"] = statusOf(err)
	_, err = c.call("AffiliateUpdate", c.update(long, "go-x", data("go-x", 14), nil, ttl(60, 0)))
	invalid["update_long_cluster"] = statusOf(err)
	_, err = c.call("AffiliateUpdate", c.update("interop", "go-x", data("go-x", 14), nil, ttl(3600, 0)))
	invalid["update_ttl_too_large"] = statusOf(err)
	_, err = c.call("List", pbString(nil, 1, long))
	invalid["list_long_cluster"] = statusOf(err)
	ictx, icancel := context.WithTimeout(context.Background(), 10*time.Second)
	ist, err := c.watch(ictx, long)
	if err == nil {
		_, err = recv(ist)
	}
	icancel()
	invalid["watch_long_cluster"] = statusOf(err)
	out["invalid"] = invalid

	out["mux"] = c.mux(50, 40)

	enc, err := json.Marshal(out)
	check(err)
	fmt.Println(string(enc))
}

// mux opens `streams` Watch streams at once on the one ClientConn, against a
// cluster of `size` affiliates with 2000-byte data, so every snapshot is
// larger than the default 64 KiB stream window and all together far larger
// than the connection window; then one update must reach every stream.
func (c *client) mux(streams, size int) map[string]interface{} {
	filler := make([]byte, 2000)
	for i := 0; i < size; i++ {
		_, err := rand.Read(filler)
		check(err)
		c.must("AffiliateUpdate", c.update("interop-mux", fmt.Sprintf("m-%02d", i), filler,
			[][]byte{c.s.sealEndpoint(endpoint(v4(10, 30, 0, byte(i)), 51820))}, ttl(300, 0)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		snapshot, snapshotBytes int
		update                  string
		err                     string
	}
	results := make([]result, streams)
	var ready, done sync.WaitGroup
	release := make(chan struct{})
	ready.Add(streams)
	done.Add(streams)
	for i := 0; i < streams; i++ {
		go func(i int) {
			defer done.Done()
			r := &results[i]
			fail := func(err error) { r.err = statusOf(err)[0] + ": " + statusOf(err)[1] }
			st, err := c.watch(ctx, "interop-mux")
			if err != nil {
				fail(err)
				ready.Done()
				return
			}
			snap, err := recv(st)
			if err != nil {
				fail(err)
				ready.Done()
				return
			}
			m, _ := parse(snap)
			r.snapshot = len(m.bytes[1])
			r.snapshotBytes = len(snap)
			ready.Done()
			<-release
			upd, err := recv(st)
			if err != nil {
				fail(err)
				return
			}
			list, _, _ := c.s.openList(upd)
			r.update = strings.Join(ids(list), ",")
		}(i)
	}
	ready.Wait()
	start := time.Now()
	c.must("AffiliateUpdate", c.update("interop-mux", "m-new", filler, nil, ttl(300, 0)))
	close(release)
	done.Wait()
	// A big unary response on the same connection afterwards.
	list, _, err := c.s.openList(c.must("List", pbString(nil, 1, "interop-mux")))
	check(err)
	snapshots, updates, total := 0, 0, 0
	errs := []string{}
	for _, r := range results {
		if r.snapshot == size {
			snapshots++
		}
		if r.update == "m-new" {
			updates++
		}
		total += r.snapshotBytes
		if r.err != "" {
			errs = append(errs, r.err)
		}
	}
	return map[string]interface{}{
		"streams":        streams,
		"snapshots":      snapshots,
		"updates":        updates,
		"snapshot_bytes": total,
		"update_ms":      time.Since(start).Milliseconds(),
		"list":           len(list),
		"errors":         errs,
	}
}

// ---- server mode ----

type stored struct {
	id        string
	data      []byte
	endpoints [][]byte
}

type store struct {
	mu         sync.Mutex
	order      []string
	affiliates map[string]*stored
	watchers   map[chan []byte]struct{}
	hellos     []map[string]string
	updates    []map[string]interface{}
}

func (st *store) wire(a *stored) []byte { return affiliate(a.id, a.data, a.endpoints) }

func (st *store) notify(resp []byte) {
	for w := range st.watchers {
		select {
		case w <- resp:
		default: // a watcher that does not read loses updates, like Sidero's
		}
	}
}

func (st *store) put(cluster, id string, data []byte, hasData bool, endpoints [][]byte) {
	a, ok := st.affiliates[id]
	if !ok {
		a = &stored{id: id}
		st.affiliates[id] = a
		st.order = append(st.order, id)
	}
	if hasData {
		a.data = data
	}
outer:
	for _, e := range endpoints {
		for _, k := range a.endpoints {
			if string(k) == string(e) {
				continue outer
			}
		}
		a.endpoints = append(a.endpoints, e)
	}
	st.notify(pbBytes(nil, 1, st.wire(a)))
}

func runServer(keyHex string) {
	s := newSealer(keyHex)
	st := &store{affiliates: map[string]*stored{}, watchers: map[chan []byte]struct{}{}}
	st.put("interop", "go-node",
		s.sealData(payload("go-node", v4(10, 9, 0, 1), key(9), ula(9))), true,
		[][]byte{s.sealEndpoint(endpoint(v4(10, 9, 0, 1), 51820))})

	handler := func(_ interface{}, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		var req []byte
		if err := stream.RecvMsg(&req); err != nil {
			return err
		}
		m, err := parse(req)
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		cluster := m.str(1)
		if cluster == "" {
			return status.Error(codes.InvalidArgument, "cluster ID can't be empty")
		}
		switch strings.TrimPrefix(method, service) {
		case "Hello":
			st.mu.Lock()
			st.hellos = append(st.hellos, map[string]string{
				"cluster_id": cluster, "client_version": m.str(2)})
			st.mu.Unlock()
			// A documentation address, so the caller can only have it from us.
			return stream.SendMsg(pbBytes(nil, 2, v4(198, 51, 100, 7)))
		case "AffiliateUpdate":
			t, err := parse(m.one(5))
			if err != nil {
				return status.Error(codes.InvalidArgument, err.Error())
			}
			eps := m.bytes[4]
			st.mu.Lock()
			st.updates = append(st.updates, map[string]interface{}{
				"cluster_id":   cluster,
				"affiliate_id": m.str(2),
				"has_data":     m.has(3),
				"ttl":          []uint64{t.varint(1), t.varint(2)},
				"opened":       s.open(m.str(2), m.one(3), eps),
			})
			st.put(cluster, m.str(2), m.one(3), m.has(3), eps)
			st.mu.Unlock()
			return stream.SendMsg([]byte{})
		case "AffiliateDelete":
			id := m.str(2)
			st.mu.Lock()
			if _, ok := st.affiliates[id]; ok {
				delete(st.affiliates, id)
				for i, o := range st.order {
					if o == id {
						st.order = append(st.order[:i], st.order[i+1:]...)
						break
					}
				}
				st.notify(pbVarint(pbBytes(nil, 1, affiliate(id, nil, nil)), 2, 1))
			}
			st.mu.Unlock()
			return stream.SendMsg([]byte{})
		case "List", "Watch":
			var resp []byte
			st.mu.Lock()
			for _, id := range st.order {
				resp = pbBytes(resp, 1, st.wire(st.affiliates[id]))
			}
			if strings.HasSuffix(method, "List") {
				st.mu.Unlock()
				return stream.SendMsg(resp)
			}
			w := make(chan []byte, 64)
			st.watchers[w] = struct{}{}
			st.mu.Unlock()
			defer func() {
				st.mu.Lock()
				delete(st.watchers, w)
				st.mu.Unlock()
			}()
			if err := stream.SendMsg(resp); err != nil {
				return err
			}
			for {
				select {
				case <-stream.Context().Done():
					return stream.Context().Err()
				case r := <-w:
					if err := stream.SendMsg(r); err != nil {
						return err
					}
				}
			}
		}
		return status.Errorf(codes.Unimplemented, "unknown method %s", method)
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(handler))
	go func() { _ = srv.Serve(lis) }()
	fmt.Println(lis.Addr().(*net.TCPAddr).Port)
	_, _ = io.ReadAll(os.Stdin)
	st.mu.Lock()
	enc, err := json.Marshal(map[string]interface{}{
		"grpc_version": grpc.Version,
		"hellos":       st.hellos,
		"updates":      st.updates,
	})
	st.mu.Unlock()
	check(err)
	fmt.Println(string(enc))
	srv.Stop()
}

func main() {
	if len(os.Args) < 2 {
		check(errors.New("usage: discovery_peer client PORT KEY_HEX | server KEY_HEX"))
	}
	switch os.Args[1] {
	case "client":
		runClient(os.Args[2], os.Args[3])
	case "server":
		runServer(os.Args[2])
	default:
		check(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}
