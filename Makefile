# pagoda: `make run` boots the demo, `make test` runs every test, `make bench` measures.
# Variables: SMP (CPUs, default 4), MEM (RAM, default 512M), ARCH (x86_64); make run
# PROG=name ARGS="..." runs user/prog/name.c alone.
ARCH  ?= x86_64
SMP   ?= 4
MEM   ?= 512M
BUILD ?= build
QEMU  ?= qemu-system-x86_64
Q     ?= @   # make Q= shows every command

CC ?= gcc
KCFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -MMD -MP \
	-ffreestanding -fno-builtin -fno-pie -fno-pic -fno-stack-protector \
	-fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
	-mno-red-zone -mcmodel=kernel -mgeneral-regs-only \
	-I. -Iarch/$(ARCH)/include
# KDEFS: extra defines, e.g. the negative-control kernel's -DSHOOTDOWN_SKIP_REMOTE_FLUSH.
KCFLAGS += $(KDEFS)
KASFLAGS := -D__ASSEMBLY__ -I. -Iarch/$(ARCH)/include -MMD -MP -g $(filter -D%,$(KDEFS))
# .boot holds the 32-bit entry and boot tables together: one RWX segment, on purpose.
KLDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments \
	-T arch/$(ARCH)/kernel.ld
LIBGCC := $(shell $(CC) -print-libgcc-file-name)
# Host tests run under ASan and UBSan: a sanitizer report fails the test that triggered it.
HOSTSAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
HOSTCFLAGS := -std=c11 -Wall -Wextra -Werror -O1 -g -I. $(HOSTSAN)

KSRCS := $(wildcard kern/*.c lib/*.c arch/$(ARCH)/*.c tests/kern/*.c)
KASMS := $(wildcard arch/$(ARCH)/*.S)
KOBJS := $(KSRCS:%.c=$(BUILD)/k/%.o) $(KASMS:%.S=$(BUILD)/k/%.o)

# Host unit tests: tests/host/test_X.c links with the kernel (or lib/) sources it names
# below, compiled with host_cflags_X too.
HOST_TESTS := fmt fmt_nofloat fpool memmap heap elf cpio handle vmmap epoch gather sysarg strerror multiboot2 sort vacore netframe
# The formatter twice: as user space builds it (with %f %e %g), and as the kernel does.
host_srcs_fmt    := lib/fmt.c
host_cflags_fmt  := -DFMT_FLOAT
host_srcs_fmt_nofloat := lib/fmt.c
host_srcs_fpool  := kern/fpool.c
host_srcs_memmap := kern/memmap.c
host_srcs_heap   := kern/heap.c
host_srcs_elf    := lib/elf.c
host_srcs_cpio   := lib/cpio.c
host_srcs_sort   := lib/sort.c
host_srcs_handle := kern/handle.c
host_srcs_vmmap  := kern/vmmap.c
host_srcs_epoch  := kern/epoch.c
host_srcs_gather := kern/gather.c
host_srcs_sysarg :=
host_srcs_strerror := user/lib/strerror.c
host_srcs_multiboot2 := kern/multiboot2.c
host_srcs_vacore := user/lib/vacore.c
host_srcs_netframe := user/lib/netframe.c
HOST_BINS := $(HOST_TESTS:%=$(BUILD)/host/test_%)
# Headers the host tests compile: rebuild when they change (sysarg is all header).
$(HOST_BINS): $(wildcard include/pagoda/*.h include/pagoda/*.def)
$(BUILD)/host/test_sysarg: kern/sysarg.h
include user/user.mk
include user/rt/hosted/hosted.mk

.PHONY: all kernel iso run-iso run test check bench gdb host-tests deps clean negctl ubsan irqoff phase fuzz finject deps-test compare bench-hosted hosted deps-go lockcheck \
	abi-doc check-abi-doc netpeer-selftest bench-net-linux check-net bench-net deps-net
all: kernel
kernel: $(BUILD)/kernel.bin $(BUILD)/boot.cpio

deps:
	@./tools/deps.sh

$(BUILD)/k/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/k/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS    $<"
	$(Q)$(CC) $(KASFLAGS) -c $< -o $@

# Two links: the second adds the symbol table for backtraces (see tools/ksyms.sh).
$(BUILD)/kernel.elf: $(KOBJS) arch/$(ARCH)/kernel.ld tools/ksyms.sh
	@mkdir -p $(BUILD)
	@echo "  LD    $@ (two passes, for the backtrace symbol table)"
	$(Q)printf 'const unsigned ksyms_count = 0;\nconst struct { unsigned long a; const char *n; } ksyms_table[1];\n' > $(BUILD)/ksyms0.c
	$(Q)$(CC) $(KCFLAGS) -c $(BUILD)/ksyms0.c -o $(BUILD)/ksyms0.o
	$(Q)$(LD) $(KLDFLAGS) -o $(BUILD)/kernel.pass1.elf $(KOBJS) $(BUILD)/ksyms0.o $(LIBGCC)
	$(Q)./tools/ksyms.sh $(BUILD)/kernel.pass1.elf > $(BUILD)/ksyms.c
	$(Q)$(CC) $(KCFLAGS) -c $(BUILD)/ksyms.c -o $(BUILD)/ksyms.o
	$(Q)$(LD) $(KLDFLAGS) -o $@ $(KOBJS) $(BUILD)/ksyms.o $(LIBGCC)
	@nm -n $(BUILD)/kernel.pass1.elf | grep -i ' t ' > $(BUILD)/syms1.txt
	@nm -n $@ | grep -i ' t ' > $(BUILD)/syms2.txt
	@cmp -s $(BUILD)/syms1.txt $(BUILD)/syms2.txt || { echo "ksyms: code moved between links"; rm -f $@; exit 1; }

$(BUILD)/kernel.bin: $(BUILD)/kernel.elf
	$(Q)objcopy -O binary $< $@

# The one QEMU command line is tools/runproc.py's (the test runner and benchmarks use it too).
BOOT = QEMU=$(QEMU) python3 tools/runproc.py --build $(BUILD) --smp $(SMP) --mem $(MEM)

# The kernel starts init, which runs the demo, or with PROG=name [ARGS="a b"] just
# user/prog/name.c (with those arguments: the command line's words after "--" are
# init's). init's end exits QEMU (status 33 = success), so `make run` ends on its own.
# NET=1: the network demo (docs/net.md): a Linux peer (echo and sink) in a second QEMU,
# then init in network mode, `-n 10.0.2.15 netecho 10.0.2.1 20 64` (or PROG ARGS instead).
RUN_APPEND = mode=demo$(if $(PROG), -- $(PROG) $(ARGS))
NET_ON := $(filter-out 0,$(NET))
NET_WORDS = 10.0.2.15 $(if $(PROG),$(PROG) $(ARGS),netecho 10.0.2.1 20 64)
run: deps kernel $(if $(NET_ON),deps-net)
	@[ -z "$(PROG)" ] || [ -f user/prog/$(PROG).c ] || { echo "run: no program user/prog/$(PROG).c"; exit 1; }
ifneq ($(NET_ON),)
	@QEMU=$(QEMU) python3 tools/nettests.py --build $(BUILD) demo --smp $(SMP) --mem $(MEM) -- $(NET_WORDS); \
		s=$$?; [ $$s -eq 33 ] || { echo "run: QEMU exited with $$s"; exit 1; }
else
	@$(BOOT) --append "$(RUN_APPEND)"; s=$$?; [ $$s -eq 33 ] || { echo "run: QEMU exited with $$s"; exit 1; }
endif

gdb: deps kernel
	$(BOOT) --append "$(RUN_APPEND)" -s -S

# The GRUB image for BIOS and UEFI (docs/boot.md): kernel.elf by multiboot2, with
# ISO_CMDLINE and the files in ISO_MODULES as module2 modules (named by file name).
# make run-iso [FW=uefi] boots it (FW=bios, SeaBIOS, by default).
ISO := $(BUILD)/pagoda.iso
ISO_CMDLINE ?= mode=demo
ISO_MODULES ?= $(BUILD)/boot.cpio
FW ?= bios
iso: $(ISO)
# The image also depends on the variables: their values are kept in iso.args.
$(BUILD)/iso.args: FORCE
	@mkdir -p $(BUILD)
	@echo '$(ISO_CMDLINE) | $(ISO_MODULES)' | cmp -s - $@ || echo '$(ISO_CMDLINE) | $(ISO_MODULES)' > $@
$(ISO): $(BUILD)/kernel.elf tools/grub.cfg tools/mkiso.sh $(ISO_MODULES) $(BUILD)/iso.args
	@./tools/deps.sh iso
	@echo "  ISO   $@"
	$(Q)./tools/mkiso.sh $@ $< "$(ISO_CMDLINE)" $(ISO_MODULES)
run-iso: deps iso
	@$(BOOT) --iso $(FW); s=$$?; [ $$s -eq 33 ] || { echo "run-iso: QEMU exited with $$s"; exit 1; }
FORCE:

.SECONDEXPANSION:
$(HOST_BINS): $(BUILD)/host/test_%: tests/host/test_%.c $$(host_srcs_$$*) Makefile
	@mkdir -p $(dir $@)
	@echo "  HOSTCC $<"
	$(Q)$(CC) $(HOSTCFLAGS) $(host_cflags_$*) $< $(host_srcs_$*) -lcriterion -o $@

host-tests: check-abi-doc $(HOST_BINS)

# docs/abi.md's tables of calls and errors come from include/pagoda/*.def: abi-doc
# rewrites them, check-abi-doc (part of host-tests and test) fails if they are stale.
abi-doc:
	@python3 tools/abidoc.py docs/abi.md
check-abi-doc:
	@python3 tools/abidoc.py --check docs/abi.md

# The negative-control kernel skips remote TLB flushes: its coherence test must fail.
NEGCTL := $(BUILD)/negctl
negctl:
	@$(MAKE) --no-print-directory BUILD=$(NEGCTL) KDEFS=-DSHOOTDOWN_SKIP_REMOTE_FLUSH kernel

# The undefined-behaviour sanitizer build (kern/ubsan.c): make test boots it in test
# mode, and any UB the tests reach fails the boot with file:line. -fno-sanitize=alignment:
# x86 allows unaligned accesses, and the packed TSS and descriptor-table pointers are
# unaligned by definition.
UBSAN := $(BUILD)/ubsan
ubsan:
	@$(MAKE) --no-print-directory BUILD=$(UBSAN) \
		KDEFS="-DKERNEL_UBSAN -fsanitize=undefined -fno-sanitize=alignment -fno-sanitize-recover=all" kernel

# tshark reads the network tests' captures; static-libc builds the Linux peer's udpecho.
deps-test:
	@./tools/deps.sh spin clang tshark static-libc
deps-net:
	@./tools/deps.sh tshark static-libc

# Lock rules checked by clang's thread-safety analysis (annotations in kern/spinlock.h).
# Struct fields stay unannotated: clang 14 cannot name a sibling field (the struct's
# own lock) in guarded_by in C ("use of undeclared identifier 'lock'").
LOCKCHECK_SRCS := $(wildcard kern/*.c arch/$(ARCH)/*.c tests/kern/*.c)
# Include paths and defines follow KCFLAGS; the check is syntax-only (no code made).
LOCKCHECK_FLAGS = -std=c11 -ffreestanding -fno-builtin -mno-red-zone -mcmodel=kernel \
	-mgeneral-regs-only $(filter -I% -D%,$(KCFLAGS)) \
	-fsyntax-only -Wthread-safety -Wthread-safety-beta -Werror
lockcheck:
	@echo "  LOCKCHECK kern/ arch/$(ARCH)/ tests/kern/ (clang -Wthread-safety)"
	$(Q)for f in $(LOCKCHECK_SRCS); do clang $(LOCKCHECK_FLAGS) $$f || exit 1; done
	@echo "lockcheck: passed"

# CHECKS: scripts that each count as one case of `make test` by their exit status
# (tools/runtests.py --check), e.g. the grep checks in tools/check_*.sh; so does the
# self-test of the report reader.
CHECKS ?= $(sort $(wildcard tools/check_*.sh))

# Besides every boot, make test runs the fuzzer longer (100k calls at smp 2, 20k at
# smp 4: with 4 vCPUs on 2 host cores each shootdown costs milliseconds) and a
# failure-injection sweep of 30 points per program.
test: deps-test lockcheck check-abi-doc kernel host-tests negctl ubsan hosted iso
	@python3 tools/runtests.py --build $(BUILD) --host $(HOST_BINS) --negctl $(NEGCTL) --ubsan $(UBSAN) --spin --iso \
		--hosted $(HBUILD)/rtthreads $(HBUILD)/rt1m --check "python3 tools/test_ktap.py" \
		$(foreach c,$(CHECKS),--check $(c)) --fuzz 2:100000,4:20000 --finject 30 --net

# The long runs. make fuzz [SMP=4] [CALLS=1000000] [SEED=1]: one line, fuzz: calls=...
# panics=0 leaks=0. make finject [POINTS=1000]: the failure-injection sweep, wider.
CALLS ?= 1000000
SEED  ?= 1
POINTS ?= 1000
fuzz: deps kernel
	@python3 tools/fuzz.py --build $(BUILD) --smp $(SMP) --calls $(CALLS) --seed $(SEED)
finject: deps kernel
	@python3 tools/runtests.py --build $(BUILD) --smp "" --finject $(POINTS) --timeout 36000

# One test boot and its KTAP report: make check T=<ktest name prefix> [SMP=n] [MEM=m].
# The user test programs run under init's test runner as cases user_<program>
# (user/init/testrun.c); other prefixes name in-kernel ktests.
check: deps kernel
	@[ -n "$(T)" ] || { echo "check: say which tests, e.g. make check T=user_lazy SMP=2"; exit 1; }
	@python3 tools/runtests.py --build $(BUILD) --smp $(SMP) --mem $(MEM) --only "$(T)"

# The network cases only (tools/nettests.py; each boots a Linux peer and pagoda, captured):
# make check-net [T=net_echo] runs those whose names start with T.
check-net: deps deps-net kernel
	@QEMU=$(QEMU) python3 tools/runtests.py --build $(BUILD) --smp "" --net "$(T)"

# make bench also builds the IRQOFF_STATS kernel, for max_irqoff_us (kern/bench.c),
IRQOFF := $(BUILD)/irqoff
irqoff:
	@$(MAKE) --no-print-directory BUILD=$(IRQOFF) KDEFS=-DIRQOFF_STATS kernel
# And the PHASE_STATS kernel, for the phase_protect_1p_* breakdown (kern/phase.h).
PHASE := $(BUILD)/phase
phase:
	@$(MAKE) --no-print-directory BUILD=$(PHASE) KDEFS=-DPHASE_STATS kernel
# Then the network's (bench-net, below: about 2 minutes more), even if a boot failed.
bench: deps deps-net kernel irqoff phase
	@python3 tools/bench.py --build $(BUILD) --irqoff $(IRQOFF) --phase $(PHASE); s=$$?; \
		QEMU=$(QEMU) python3 tools/nettests.py --build $(BUILD) bench $(NETBENCH_ARGS) || s=1; exit $$s

# The runtime hosted on Linux, next to pthreads, futexes and SIGSEGV on the same Linux
# (linuxbench is also the Linux side of `make compare`), and Go's goroutines doing the
# same work (tools/gobench, Debian's golang-go; static, as compare.py's guest runs it).
# Go's caches stay in the build directory; no VCS stamp (no git run, whoever owns the tree).
GOBENCH := $(HBUILD)/gobench
GO_ENV = GOCACHE=$(abspath $(BUILD))/go/cache GOPATH=$(abspath $(BUILD))/go/path CGO_ENABLED=0
$(GOBENCH): $(wildcard tools/gobench/*.go) tools/gobench/go.mod | deps-go
	@mkdir -p $(dir $@)
	@echo "  GO    $@"
	$(Q)cd tools/gobench && $(GO_ENV) go build -trimpath -buildvcs=false -o $(abspath $@) .
deps-go:
	@./tools/deps.sh go
bench-hosted: deps hosted $(GOBENCH)
	@RT_VCPUS=1 $(HBUILD)/rtbench
	@RT_VCPUS=1 RT_ARG=1 $(HBUILD)/rtbench
	@RT_VCPUS=2 RT_ARG=1 $(HBUILD)/rtbench
	@$(CC) -O2 -pthread -o $(HBUILD)/linuxbench tools/compare/linuxbench.c
	@$(HBUILD)/linuxbench | grep -E '^metric=linux_(sigsegv_rtt|pthread_spawn_join|futex_switch|pthread_ring_hop|pthread_blocked_[a-z_]*|pthread_skynet_[0-9]+k) '
	@$(GOBENCH)

# pagoda against Linux in the same QEMU, with plots: tools/compare.py, docs/PERFORMANCE.md.
# QUICK=1: one run at smp 1,2 (build/compare/results/ only); REPEAT=n; COMPARE_ARGS=...
compare: deps kernel
	@./tools/deps.sh gnuplot static-libc go
	@python3 tools/compare.py --build $(BUILD) $(if $(filter-out 0,$(QUICK)),--quick) \
		$(if $(REPEAT),--repeat $(REPEAT)) $(COMPARE_ARGS)

# The Linux peer of the virtio-net driver (tools/netpeer.py, docs/net.md): Debian's
# kernel in a second QEMU on a -netdev dgram link. netpeer-selftest: two Linux peers,
# round trips through the link, the capture checked (tools/pcapsum.py); bench-net-linux:
# the Linux<->Linux baseline, metric lines linux_udp_* (NETPEER_ARGS=, e.g. --smp 1).
netpeer-selftest:
	@./tools/deps.sh tshark static-libc
	@python3 tools/netpeer.py --build $(BUILD) selftest
bench-net-linux:
	@./tools/deps.sh tshark static-libc
	@python3 tools/netpeer.py --build $(BUILD) bench $(NETPEER_ARGS)
# bench-net: pagoda's driver against the Linux peer at smp 1 and 2 (udp_rtt_64b,
# udp_rtt_1472b, lend_return_1472b, copy_1472b, udp_pps_1472b), then the Linux pair's
# linux_udp_* in the same run (tools/nettests.py bench; NETBENCH_ARGS=, e.g. --smp 1).
bench-net: deps deps-net kernel
	@QEMU=$(QEMU) python3 tools/nettests.py --build $(BUILD) bench $(NETBENCH_ARGS)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/k -name '*.d' 2>/dev/null)
