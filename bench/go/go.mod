module portico.local/bench/go

go 1.24
