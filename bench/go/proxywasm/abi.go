// Package proxywasm is a thin proxy-wasm ABI 0.2.1 layer for plugins compiled by upstream Go
// (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, Go >= 1.24: //go:wasmexport reactors).
//
// Why not github.com/proxy-wasm/proxy-wasm-go-sdk: the Go module proxy reachable from this
// project's machines refuses that module (403 for its version list and for pinned commits), so
// the benchmark's Go plugins cannot depend on it. This package does what the SDK does on the
// hot path, the same way: context objects in maps keyed by context id, one host call per
// header read or write, values copied into Go strings, buffers the host returns allocated on
// the Go heap through proxy_on_memory_allocate. What the benchmark measures is then what Go
// costs as a plugin language (its runtime, GC and module size), not a shortcut the SDK lacks.
package proxywasm

import "unsafe"

// Action is what a header callback tells the host.
type Action uint32

const (
	Continue Action = 0
	Pause    Action = 1
)

// Root is one plugin instance (a root context): configured once, it creates the streams.
type Root interface {
	Configure(config []byte) bool
	NewStream(contextID uint32) Stream
	OnTick()
}

// Stream is one HTTP request/response through the filter.
type Stream interface {
	OnRequestHeaders(numHeaders int, endOfStream bool) Action
	OnResponseHeaders(numHeaders int, endOfStream bool) Action
}

var (
	newRoot func(contextID uint32) Root
	roots   = map[uint32]Root{}
	streams = map[uint32]Stream{}
)

// SetNewRoot registers the plugin; call it from an init function.
func SetNewRoot(f func(contextID uint32) Root) { newRoot = f }

// The buffer the host asked for last. The host writes into it and hands its address back
// through a return slot; keeping a reference here keeps the GC from reclaiming it before the
// hostcall wrapper has copied it.
var lastAlloc []byte

//go:wasmexport proxy_on_memory_allocate
func onMemoryAllocate(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	lastAlloc = make([]byte, size)
	return uint32(uintptr(unsafe.Pointer(&lastAlloc[0])))
}

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

//go:wasmexport proxy_on_context_create
func onContextCreate(contextID, parentID uint32) {
	if parentID == 0 {
		roots[contextID] = newRoot(contextID)
		return
	}
	if r, ok := roots[parentID]; ok {
		streams[contextID] = r.NewStream(contextID)
	}
}

//go:wasmexport proxy_on_vm_start
func onVMStart(rootID, size uint32) uint32 { return 1 }

//go:wasmexport proxy_on_configure
func onConfigure(rootID, size uint32) uint32 {
	r, ok := roots[rootID]
	if !ok {
		return 0
	}
	cfg, _ := getBuffer(bufferPluginConfiguration, 0, size)
	if r.Configure(cfg) {
		return 1
	}
	return 0
}

//go:wasmexport proxy_on_tick
func onTick(rootID uint32) {
	if r, ok := roots[rootID]; ok {
		r.OnTick()
	}
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	if s, ok := streams[contextID]; ok {
		return uint32(s.OnRequestHeaders(int(numHeaders), endOfStream != 0))
	}
	return uint32(Continue)
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	if s, ok := streams[contextID]; ok {
		return uint32(s.OnResponseHeaders(int(numHeaders), endOfStream != 0))
	}
	return uint32(Continue)
}

//go:wasmexport proxy_on_request_body
func onRequestBody(contextID, size, endOfStream uint32) uint32 { return uint32(Continue) }

//go:wasmexport proxy_on_response_body
func onResponseBody(contextID, size, endOfStream uint32) uint32 { return uint32(Continue) }

//go:wasmexport proxy_on_request_trailers
func onRequestTrailers(contextID, n uint32) uint32 { return uint32(Continue) }

//go:wasmexport proxy_on_response_trailers
func onResponseTrailers(contextID, n uint32) uint32 { return uint32(Continue) }

//go:wasmexport proxy_on_done
func onDone(contextID uint32) uint32 { return 1 }

//go:wasmexport proxy_on_log
func onLog(contextID uint32) {}

//go:wasmexport proxy_on_delete
func onDelete(contextID uint32) {
	delete(streams, contextID)
	delete(roots, contextID)
}
