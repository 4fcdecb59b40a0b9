// gobench: the Go side of the thread-runtime benchmarks (user/prog/rtbench.c and the
// uthread_* benches being added next to it): the same work with goroutines and
// channels, on Debian 12's Go 1.19. `make bench-hosted` runs it on the host,
// `make compare` statically linked in the Linux guest, after linuxbench.
//
// Output: "metric=go_<name> smp=P value=X unit=U", where P is the GOMAXPROCS the bench
// ran with. GOMAXPROCS=1 matches rtbench, which runs everything on one vcpu; with
// -procs 1,2 each bench also runs at GOMAXPROCS=2 (where that means something).
// Every bench checks its own result (counts, sums) and exits non-zero before
// printing a number for a run that went wrong; "gobench: done" ends a good run.
//
// Flags (and environment variables, for the guest's kernel command line):
//
//	-procs list   GOMAXPROCS values, e.g. "1,2" (GOBENCH_PROCS; default 1 and the CPU
//	              count; "ncpu": only the CPU count, as the compare guest runs it)
//	-n N          goroutines for the blocked and ring benches (GOBENCH_N; default 10^6,
//	              or the largest power of ten that fits in half of MemAvailable)
//	-skynet N     skynet's leaves, a power of 10 (GOBENCH_SKYNET; default as -n)
//	-iters N      spawn+join and switch iterations (GOBENCH_ITERS; default 100,000)
//
// Benches whose value is a total over N goroutines name N when it is not 10^6
// (go_100k_blocked_spawn, go_skynet_100k); per-goroutine ones keep their name and the
// "info=gobench" line says the N they were measured with.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var procs int // the GOMAXPROCS of the bench that is running

func report(name string, value float64, unit string) {
	fmt.Printf("metric=go_%s smp=%d value=%.1f unit=%s\n", name, procs, value, unit)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gobench: FAILED: "+format+"\n", args...)
	fmt.Printf("gobench: FAILED\n")
	os.Exit(1)
}

// "1m", "100k", "10k", ...: a count in a metric name.
func countName(n int) string {
	switch {
	case n%1000000 == 0:
		return strconv.Itoa(n/1000000) + "m"
	case n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func nsPer(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(n) }
func ms(d time.Duration) float64           { return float64(d.Nanoseconds()) / 1e6 }

// spawn a goroutine that does nothing and wait for it (uthread_spawn_join).
func benchSpawnJoin(iters int) {
	done := make(chan struct{})
	nop := func() { done <- struct{}{} }
	for i := 0; i < iters/100; i++ {
		go nop()
		<-done
	}
	t0 := time.Now()
	for i := 0; i < iters; i++ {
		go nop()
		<-done
	}
	report("goroutine_spawn_join", nsPer(time.Since(t0), iters), "ns")
}

// Two goroutines hand a token back and forth through two unbuffered channels: each
// round trip is two switches (uthread_switch yields; a channel hand-off blocks).
func benchChanSwitch(iters int) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	v := 0
	for i := 0; i < iters/100; i++ {
		ping <- v
		v = <-pong
	}
	t0 := time.Now()
	for i := 0; i < iters; i++ {
		ping <- v
		v = <-pong
	}
	d := time.Since(t0)
	close(ping)
	if _, ok := <-pong; ok || v != iters+iters/100 {
		fail("chan_switch: token %d after %d round trips", v, iters+iters/100)
	}
	report("chan_switch", nsPer(d, 2*iters), "ns")
}

// Two goroutines call runtime.Gosched in turn, as rtbench's two threads call rt_yield:
// with one P each Gosched is two switches. (With more Ps both run at once and
// Gosched need not switch at all: GOMAXPROCS=1 only.)
func benchGosched(iters int) {
	var stop, spins int32
	exited := make(chan struct{})
	go func() {
		for atomic.LoadInt32(&stop) == 0 {
			atomic.AddInt32(&spins, 1)
			runtime.Gosched()
		}
		close(exited)
	}()
	for i := 0; i < iters/100; i++ {
		runtime.Gosched()
	}
	s0 := atomic.LoadInt32(&spins)
	t0 := time.Now()
	for i := 0; i < iters; i++ {
		runtime.Gosched()
	}
	d := time.Since(t0)
	s1 := atomic.LoadInt32(&spins)
	atomic.StoreInt32(&stop, 1)
	<-exited
	// Each of our Gosched calls must have run the other goroutine once.
	if int(s1-s0) < iters*9/10 {
		fail("gosched_switch: the other goroutine ran %d times in %d yields", s1-s0, iters)
	}
	report("gosched_switch", nsPer(d, 2*iters), "ns")
}

func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		fail("/proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

type memSnap struct {
	stack, heap, sys, rss uint64
	numGC                 uint32
}

func snap() memSnap {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSnap{m.StackInuse, m.HeapAlloc, m.Sys, rssBytes(), m.NumGC}
}

// n goroutines, each blocked receiving on a channel of its own, all alive at once:
// the time from the first spawn until every one has started (and then blocks at
// once), and memory per goroutine, its channel included. go_blocked_bytes is the
// runtime's own account (StackInuse + HeapAlloc, after a GC, against before the
// first spawn), go_blocked_rss_bytes the process's resident memory (/proc/self/statm).
func benchBlocked(n int) {
	chans := make([]chan struct{}, n)
	var started, exited sync.WaitGroup
	var received int64
	started.Add(n)
	exited.Add(n)
	before := snap()
	t0 := time.Now()
	for i := range chans {
		c := make(chan struct{})
		chans[i] = c
		go func() {
			started.Done()
			<-c
			atomic.AddInt64(&received, 1)
			exited.Done()
		}()
	}
	started.Wait()
	d := time.Since(t0)
	// Each has started; the last few may still be on their way into the receive.
	for i := 0; i < 10; i++ {
		runtime.Gosched()
	}
	time.Sleep(20 * time.Millisecond)
	if r := atomic.LoadInt64(&received); r != 0 {
		fail("blocked: %d goroutines got past their receive", r)
	}
	after := snap()
	for _, c := range chans {
		close(c)
	}
	exited.Wait()
	if r := atomic.LoadInt64(&received); r != int64(n) {
		fail("blocked: %d of %d goroutines received", r, n)
	}
	if n == 1000000 {
		report("1m_blocked_spawn", ms(d), "ms")
	} else {
		report(countName(n)+"_blocked_spawn", ms(d), "ms")
	}
	delta := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	report("blocked_bytes", delta(after.stack+after.heap, before.stack+before.heap), "bytes")
	report("blocked_rss_bytes", delta(after.rss, before.rss), "bytes")
	report("blocked_stack_bytes", delta(after.stack, before.stack), "bytes")
	fmt.Printf("info=gobench blocked: %d GC cycles during the spawn\n", after.numGC-before.numGC)
	runtime.KeepAlive(chans)
	chans = nil
	debug.FreeOSMemory() // the next bench starts from a small process again
}

// The thread ring: n goroutines, each blocked on its own channel; a token carrying
// the hops left goes around, each goroutine receiving it passes it on to the next
// one, decremented. The one that receives 0 must be goroutine hops mod n. Then a stop
// token goes round once and every goroutine exits. ns per hop (setup untimed).
func benchRing(n, hops int) {
	chans := make([]chan int, n)
	for i := range chans {
		chans[i] = make(chan int)
	}
	last := make(chan int)
	var exited sync.WaitGroup
	exited.Add(n)
	for i := 0; i < n; i++ {
		in, out := chans[i], chans[(i+1)%n]
		go func(i int) {
			defer exited.Done()
			for {
				t := <-in
				switch {
				case t < 0: // stop: pass it on, except back to goroutine 0
					if i < n-1 {
						out <- t
					}
					return
				case t == 0:
					last <- i
				default:
					out <- t - 1
				}
			}
		}(i)
	}
	t0 := time.Now()
	chans[0] <- hops
	who := <-last
	d := time.Since(t0)
	chans[0] <- -1
	exited.Wait()
	if who != hops%n {
		fail("ring_hop: token ended at goroutine %d, not %d", who, hops%n)
	}
	report("ring_hop", nsPer(d, hops), "ns")
	chans = nil
	debug.FreeOSMemory()
}

// Skynet (github.com/atemerev/skynet): a tree with fan-out 10 down to `size` leaves,
// each leaf sends its number, each inner node the sum of its 10 children's, through
// a channel of its own. The total is size*(size-1)/2 (499999500000 for 10^6).
func skynet(c chan int, num, size int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	size /= 10
	for i := 0; i < 10; i++ {
		go skynet(rc, num+i*size, size)
	}
	sum := 0
	for i := 0; i < 10; i++ {
		sum += <-rc
	}
	c <- sum
}

func benchSkynet(leaves, reps int) {
	want := leaves * (leaves - 1) / 2
	var total time.Duration
	for r := -1; r < reps; r++ { // r = -1: warm-up
		c := make(chan int)
		t0 := time.Now()
		go skynet(c, 0, leaves)
		sum := <-c
		d := time.Since(t0)
		if sum != want {
			fail("skynet: sum %d, want %d", sum, want)
		}
		if r >= 0 {
			total += d
		}
	}
	name := "skynet"
	if leaves != 1000000 {
		name += "_" + countName(leaves)
	}
	report(name, ms(total)/float64(reps), "ms")
}

// MemAvailable, in bytes (0 if unknown).
func memAvailable() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		var kb uint64
		if n, _ := fmt.Sscanf(s.Text(), "MemAvailable: %d kB", &kb); n == 1 {
			return kb * 1024
		}
	}
	return 0
}

// The largest power of ten up to want whose goroutines, at `each` bytes, fit the budget.
func fit(want int, each uint64, budget uint64) int {
	n := want
	for budget > 0 && n > 10 && uint64(n)*each > budget {
		n /= 10
	}
	return n
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func main() {
	ncpu := runtime.NumCPU()
	defProcs := "1"
	if ncpu > 1 {
		defProcs += "," + strconv.Itoa(ncpu)
	}
	if v := os.Getenv("GOBENCH_PROCS"); v != "" {
		defProcs = v
	}
	procList := flag.String("procs", defProcs, "GOMAXPROCS values to run at (\"ncpu\": the CPU count only)")
	nFlag := flag.Int("n", envInt("GOBENCH_N", 0), "goroutines of the blocked and ring benches (0: 10^6 or what fits)")
	skyFlag := flag.Int("skynet", envInt("GOBENCH_SKYNET", 0), "skynet's leaves, a power of 10 (0: 10^6 or what fits)")
	iters := flag.Int("iters", envInt("GOBENCH_ITERS", 100000), "spawn+join and switch iterations")
	reps := flag.Int("reps", envInt("GOBENCH_REPS", 3), "timed skynet runs (after one warm-up)")
	quiet := flag.Bool("quiet", false, "no info and done lines (one pass of several)")
	only := flag.String("only", "", "run only these benches (comma-separated: spawn,switch,blocked,ring,skynet)")
	flag.Parse()
	run := func(b string) bool { return *only == "" || strings.Contains(","+*only+",", ","+b+",") }

	// Go 1.19: a blocked goroutine with its channel raises the resident memory by
	// ~2.9 KB (10^6 of them: 2.8 GB at the peak); skynet's 10^6 leaves peak at ~250 MB
	// (counted as 280 B a leaf). What is used must fit in 3/4 of MemAvailable: in the
	// 512 MB compare guest (~420 MB available) that is 10^5 blocked goroutines and
	// the whole skynet tree.
	avail := memAvailable()
	n := *nFlag
	if n == 0 {
		n = fit(1000000, 3000, avail/4*3)
	}
	leaves := *skyFlag
	if leaves == 0 {
		leaves = fit(1000000, 280, avail/4*3)
	}
	for l := leaves; l > 1; l /= 10 {
		if l%10 != 0 {
			fail("-skynet %d: not a power of 10", leaves)
		}
	}
	hops := 3 * n
	if hops < 1000000 {
		hops = 1000000
	}
	var list []int
	for _, f := range strings.Split(*procList, ",") {
		if f == "ncpu" {
			list = append(list, ncpu)
		} else if p, err := strconv.Atoi(f); err == nil && p > 0 {
			list = append(list, p)
		} else {
			fail("-procs %q: want numbers or ncpu", *procList)
		}
	}
	if !*quiet {
		fmt.Printf("info=gobench %s, %d CPUs, GOMAXPROCS %s; blocked and ring: %d goroutines, "+
			"%d hops; skynet: %d leaves, %d timed runs; %d iterations; MemAvailable %d MB\n",
			runtime.Version(), ncpu, *procList, n, hops, leaves, *reps, *iters, avail>>20)
	}
	if len(list) > 1 {
		// One process per GOMAXPROCS: what one pass leaves behind (memory the runtime
		// keeps, Go 1.19's initial stack size, which follows the average stack use seen
		// by past GCs) must not change the next pass's numbers.
		for _, p := range list {
			cmd := exec.Command("/proc/self/exe", "-procs", strconv.Itoa(p), "-n", strconv.Itoa(n),
				"-skynet", strconv.Itoa(leaves), "-reps", strconv.Itoa(*reps),
				"-iters", strconv.Itoa(*iters), "-only", *only, "-quiet")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				fail("GOMAXPROCS=%d: %v", p, err)
			}
		}
		fmt.Println("gobench: done")
		return
	}
	procs = list[0]
	runtime.GOMAXPROCS(procs)
	if run("spawn") {
		benchSpawnJoin(*iters)
	}
	if run("switch") {
		benchChanSwitch(2 * *iters)
		if procs == 1 {
			benchGosched(2 * *iters)
		}
	}
	if run("blocked") {
		benchBlocked(n)
	}
	if run("ring") {
		benchRing(n, hops)
	}
	if run("skynet") {
		benchSkynet(leaves, *reps)
	}
	if *quiet {
		return
	}
	fmt.Println("gobench: done")
}
