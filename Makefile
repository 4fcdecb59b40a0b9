# pagoda: `make run` boots the demo, `make test` runs every test, `make bench` measures.
# Variables: SMP (CPUs, default 4), MEM (RAM, default 512M), ARCH (x86_64).
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
KASFLAGS := -D__ASSEMBLY__ -I. -Iarch/$(ARCH)/include -MMD -MP -g
# .boot holds the 32-bit entry and boot tables together: one RWX segment, on purpose.
KLDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments \
	-T arch/$(ARCH)/kernel.ld
LIBGCC := $(shell $(CC) -print-libgcc-file-name)
HOSTCFLAGS := -std=c11 -Wall -Wextra -Werror -O1 -g -I.

KSRCS := $(wildcard kern/*.c lib/*.c arch/$(ARCH)/*.c tests/kern/*.c)
KASMS := $(wildcard arch/$(ARCH)/*.S)
KOBJS := $(KSRCS:%.c=$(BUILD)/k/%.o) $(KASMS:%.S=$(BUILD)/k/%.o)

# Host unit tests: tests/host/test_X.c links with the kernel sources it names below.
HOST_TESTS := fmt fpool memmap heap elf handle vmmap epoch
host_srcs_fmt    := lib/fmt.c
host_srcs_fpool  := kern/fpool.c
host_srcs_memmap := kern/memmap.c
host_srcs_heap   := kern/heap.c
host_srcs_elf    := kern/elf.c
host_srcs_handle := kern/handle.c
host_srcs_vmmap  := kern/vmmap.c
host_srcs_epoch  := kern/epoch.c
HOST_BINS := $(HOST_TESTS:%=$(BUILD)/host/test_%)
include user/user.mk
include user/rt/hosted/hosted.mk

.PHONY: all kernel run test bench gdb host-tests deps clean negctl ubsan deps-test compare bench-hosted hosted
all: kernel
kernel: $(BUILD)/kernel.bin

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

QEMU_ARGS = -accel tcg,thread=multi -cpu max -smp $(SMP) -m $(MEM) -kernel $(BUILD)/kernel.bin \
	-display none -serial stdio -no-reboot -monitor none \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04

# The demo exits QEMU itself (status 33 = success), so `make run` ends on its own.
run: deps kernel
	@$(QEMU) $(QEMU_ARGS) -append "mode=demo"; s=$$?; [ $$s -eq 33 ] || { echo "run: QEMU exited with $$s"; exit 1; }

gdb: deps kernel
	$(QEMU) $(QEMU_ARGS) -append "mode=demo" -s -S

.SECONDEXPANSION:
$(HOST_BINS): $(BUILD)/host/test_%: tests/host/test_%.c $$(host_srcs_$$*)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC $<"
	$(Q)$(CC) $(HOSTCFLAGS) $< $(host_srcs_$*) -lcriterion -o $@

host-tests: $(HOST_BINS)

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

deps-test:
	@./tools/deps.sh spin

test: deps-test kernel host-tests negctl ubsan hosted
	@python3 tools/runtests.py --build $(BUILD) --host $(HOST_BINS) --negctl $(NEGCTL) --ubsan $(UBSAN) --spin \
		--hosted $(HBUILD)/rtthreads \
		--check tools/check_seam.sh

bench: deps kernel
	@python3 tools/bench.py --build $(BUILD)

# The runtime hosted on Linux, next to pthreads, futexes and SIGSEGV on the same Linux
# (linuxbench is also the Linux side of `make compare`).
bench-hosted: deps hosted
	@$(HBUILD)/rtbench
	@$(CC) -O2 -pthread -o $(HBUILD)/linuxbench tools/compare/linuxbench.c
	@$(HBUILD)/linuxbench | grep -E '^metric=linux_(sigsegv_rtt|pthread_spawn_join|futex_switch) '

# pagoda against Linux in the same QEMU, with plots: tools/compare.py, docs/PERFORMANCE.md.
# QUICK=1: one run at smp 1,2 (build/compare/results/ only); REPEAT=n; COMPARE_ARGS=...
compare: deps kernel
	@./tools/deps.sh gnuplot static-libc
	@python3 tools/compare.py --build $(BUILD) $(if $(filter-out 0,$(QUICK)),--quick) \
		$(if $(REPEAT),--repeat $(REPEAT)) $(COMPARE_ARGS)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/k -name '*.d' 2>/dev/null)
