package proxywasm

import (
	"encoding/binary"
	"unsafe"
)

// Host functions (module "env"). Pointers are 32-bit addresses in the host's view; Go's wasm
// port has 64-bit pointers, so return slots are uint32 globals (never moved by the GC, unlike
// a goroutine stack) and addresses are converted explicitly.

//go:wasmimport env proxy_log
func proxyLog(level uint32, msg unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(typ, start, max uint32, retPtr, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, retPtr, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(mapType uint32, retPtr, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_replace_header_map_value
func proxyReplaceHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func proxyAddHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

//go:wasmimport env proxy_remove_header_map_value
func proxyRemoveHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32) uint32

//go:wasmimport env proxy_get_property
func proxyGetProperty(path unsafe.Pointer, pathSize uint32, retPtr, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_get_shared_data
func proxyGetSharedData(key unsafe.Pointer, keySize uint32, retPtr, retSize, retCas unsafe.Pointer) uint32

//go:wasmimport env proxy_set_shared_data
func proxySetSharedData(key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32, cas uint32) uint32

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(typ uint32, name unsafe.Pointer, nameSize uint32, retID unsafe.Pointer) uint32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(id uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func proxyRecordMetric(id uint32, value uint64) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func proxyGetCurrentTimeNanoseconds(ret unsafe.Pointer) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func proxySetTickPeriodMilliseconds(ms uint32) uint32

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(status uint32, details unsafe.Pointer, detailsSize uint32, body unsafe.Pointer, bodySize uint32, headers unsafe.Pointer, headersSize uint32, grpcStatus int32) uint32

// Result codes (proxy-wasm WasmResult).
const (
	resultOk          = 0
	resultNotFound    = 1
	resultCasMismatch = 8
)

const bufferPluginConfiguration = 7

// MapType selects a header map.
type MapType uint32

const (
	RequestHeaders  MapType = 0
	ResponseHeaders MapType = 2
)

var (
	retPtr  uint32
	retSize uint32
	retCas  uint32
	retID   uint32
	retTime uint64
)

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func sptr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

// taken returns the bytes the host just wrote into the last allocation, and drops the
// package's reference to them (the caller's slice keeps them alive).
func taken() []byte {
	if retSize == 0 {
		lastAlloc = nil
		return nil
	}
	// The address is host-provided memory that onMemoryAllocate returned from the Go heap.
	b := unsafe.Slice((*byte)(unsafe.Add(nil, uintptr(retPtr))), retSize)
	lastAlloc = nil
	return b
}

func getBuffer(typ, start, size uint32) ([]byte, bool) {
	if proxyGetBufferBytes(typ, start, size, unsafe.Pointer(&retPtr), unsafe.Pointer(&retSize)) != resultOk {
		return nil, false
	}
	return taken(), true
}

// Log levels.
const (
	LogInfo  = 2
	LogError = 4
)

func Log(level uint32, msg string) { proxyLog(level, sptr(msg), uint32(len(msg))) }

// Header returns the first value of a header, and whether it was present.
func Header(m MapType, name string) (string, bool) {
	if proxyGetHeaderMapValue(uint32(m), sptr(name), uint32(len(name)), unsafe.Pointer(&retPtr), unsafe.Pointer(&retSize)) != resultOk {
		return "", false
	}
	return string(taken()), true
}

// Headers returns every header of a map as name/value pairs, in order.
func Headers(m MapType) [][2]string {
	if proxyGetHeaderMapPairs(uint32(m), unsafe.Pointer(&retPtr), unsafe.Pointer(&retSize)) != resultOk {
		return nil
	}
	b := taken()
	if len(b) < 4 {
		return nil
	}
	// u32 count, count x (u32 name size, u32 value size), then each name and value NUL-terminated.
	n := int(binary.LittleEndian.Uint32(b))
	out := make([][2]string, n)
	data := 4 + 8*n
	for i := 0; i < n; i++ {
		ks := int(binary.LittleEndian.Uint32(b[4+8*i:]))
		vs := int(binary.LittleEndian.Uint32(b[8+8*i:]))
		out[i][0] = string(b[data : data+ks])
		data += ks + 1
		out[i][1] = string(b[data : data+vs])
		data += vs + 1
	}
	return out
}

func SetHeader(m MapType, name, value string) bool {
	return proxyReplaceHeaderMapValue(uint32(m), sptr(name), uint32(len(name)), sptr(value), uint32(len(value))) == resultOk
}

func AddHeader(m MapType, name, value string) bool {
	return proxyAddHeaderMapValue(uint32(m), sptr(name), uint32(len(name)), sptr(value), uint32(len(value))) == resultOk
}

func RemoveHeader(m MapType, name string) bool {
	return proxyRemoveHeaderMapValue(uint32(m), sptr(name), uint32(len(name))) == resultOk
}

// PropertyPath encodes a dotted property name ("source.address") the way the host expects.
func PropertyPath(dotted string) []byte {
	b := []byte(dotted)
	for i := range b {
		if b[i] == '.' {
			b[i] = 0
		}
	}
	return b
}

// Property reads a host property by its encoded path.
func Property(path []byte) (string, bool) {
	if proxyGetProperty(ptr(path), uint32(len(path)), unsafe.Pointer(&retPtr), unsafe.Pointer(&retSize)) != resultOk {
		return "", false
	}
	return string(taken()), true
}

// AddressIP is the IP of a host:port address ("10.0.0.1:5000" or "[::1]:5000"); anything else as is.
func AddressIP(a string) string {
	if len(a) > 0 && a[0] == '[' {
		for i := 1; i < len(a); i++ {
			if a[i] == ']' {
				return a[1:i]
			}
		}
		return a
	}
	last, count := -1, 0
	for i := 0; i < len(a); i++ {
		if a[i] == ':' {
			last, count = i, count+1
		}
	}
	if count != 1 {
		return a
	}
	return a[:last]
}

// SharedData reads a shared-data entry: its value and CAS token, or found=false.
func SharedData(key string) (value []byte, cas uint32, found bool) {
	if proxyGetSharedData(sptr(key), uint32(len(key)), unsafe.Pointer(&retPtr), unsafe.Pointer(&retSize), unsafe.Pointer(&retCas)) != resultOk {
		return nil, 0, false
	}
	v := taken()
	return v, retCas, true
}

// SetSharedData writes an entry if its CAS token is still cas (0: unconditionally); false on a lost race.
func SetSharedData(key string, value []byte, cas uint32) bool {
	return proxySetSharedData(sptr(key), uint32(len(key)), ptr(value), uint32(len(value)), cas) == resultOk
}

// Metric is a host-side stat.
type Metric uint32

func define(typ uint32, name string) Metric {
	proxyDefineMetric(typ, sptr(name), uint32(len(name)), unsafe.Pointer(&retID))
	return Metric(retID)
}

func Counter(name string) Metric { return define(0, name) }
func Gauge(name string) Metric   { return define(1, name) }

func (m Metric) Increment(n int64) { proxyIncrementMetric(uint32(m), n) }
func (m Metric) Record(v uint64)   { proxyRecordMetric(uint32(m), v) }

// NowMillis is the host's wall clock.
func NowMillis() int64 {
	proxyGetCurrentTimeNanoseconds(unsafe.Pointer(&retTime))
	return int64(retTime / 1_000_000)
}

func SetTickPeriod(ms uint32) { proxySetTickPeriodMilliseconds(ms) }

// SendLocalResponse answers the request from the filter.
func SendLocalResponse(status uint32, details, body string, headers [][2]string) {
	size := 4 + 8*len(headers)
	for _, h := range headers {
		size += len(h[0]) + len(h[1]) + 2
	}
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b, uint32(len(headers)))
	data := 4 + 8*len(headers)
	for i, h := range headers {
		binary.LittleEndian.PutUint32(b[4+8*i:], uint32(len(h[0])))
		binary.LittleEndian.PutUint32(b[8+8*i:], uint32(len(h[1])))
		data += copy(b[data:], h[0]) + 1
		data += copy(b[data:], h[1]) + 1
	}
	proxySendLocalResponse(status, sptr(details), uint32(len(details)), sptr(body), uint32(len(body)), ptr(b), uint32(len(b)), -1)
}
