// bench.h: in-kernel micro-benchmarks (mode=bench). Prints
// "metric=NAME smp=N value=X unit=U" lines; tools/bench.py collects them.
#ifndef KERN_BENCH_H
#define KERN_BENCH_H
__attribute__((noreturn)) void bench_run(void);
#endif
