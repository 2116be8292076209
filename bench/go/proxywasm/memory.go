package proxywasm

import _ "unsafe" // for go:linkname

// The Wasm linear memory size in 64 KiB pages: the runtime's own memory.size wrapper (needs
// -ldflags=-checklinkname=0). It is what our AssemblyScript filters report as
// vm_memory_bytes, so the two are comparable.
//
//go:linkname currentMemory runtime.currentMemory
func currentMemory() int32

// MemoryGauge samples the VM's linear memory into a gauge every 1024 calls of Tick.
type MemoryGauge struct {
	calls uint32
	gauge Metric
}

func NewMemoryGauge(name string) *MemoryGauge {
	g := &MemoryGauge{gauge: Gauge(name)}
	g.Sample()
	return g
}

func (g *MemoryGauge) Tick() {
	g.calls++
	if g.calls&1023 == 0 {
		g.Sample()
	}
}

func (g *MemoryGauge) Sample() { g.gauge.Record(uint64(currentMemory()) << 16) }
