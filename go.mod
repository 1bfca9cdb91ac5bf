module github.com/sluice-sql/sluice

go 1.26.0

require (
	github.com/twmb/franz-go/pkg/kmsg v1.15.0
	golang.org/x/sys v0.26.0
)

require github.com/twmb/franz-go v1.22.2 // indirect
