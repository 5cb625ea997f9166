package testenv

import (
	"context"
	"os"
	"testing"
	"time"
)

// BenchmarkWarmStart measures `testenv up` with cached binaries (target < 60 s), the environment's
// resident memory once ready, and `down`.
func BenchmarkWarmStart(b *testing.B) {
	if os.Getenv("FIXLOOP_SKIP_CLUSTER") == "1" {
		b.Skip("FIXLOOP_SKIP_CLUSTER=1")
	}
	bin, err := fixloopBinary()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		dir := b.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		begin := time.Now()
		if _, err := Start(ctx, Options{Dir: dir, FixloopBin: bin}); err != nil {
			cancel()
			b.Fatal(err)
		}
		ready := time.Since(begin)
		cancel()
		rss, procs := ResidentMemory(dir)
		begin = time.Now()
		if err := Stop(dir); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ready.Seconds(), "s-to-ready")
		b.ReportMetric(time.Since(begin).Seconds(), "s-to-stop")
		b.ReportMetric(float64(rss)/(1<<20), "MB-rss")
		b.ReportMetric(float64(procs), "processes")
	}
}
