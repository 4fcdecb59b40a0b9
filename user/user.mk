# user.mk: builds user space (included by the top Makefile after its variables).
# Owns libpagoda ($(BUILD)/user/libpagoda.a + crt0.o), one ELF per program
# (tests/user/<name>.c, user/prog/<name>.c, user/init/init.c -> $(BUILD)/user/<name>.elf)
# and the boot archive $(BUILD)/boot.cpio: every program, without debug info, as a
# member named like the program, made by `cpio -o -H newc` (docs/boot.md). The kernel
# image holds no program: the archive is its multiboot module.
# Included before the top Makefile's rules, so it leaves the default goal as it was.
UPREV_GOAL := $(.DEFAULT_GOAL)

UBUILD := $(BUILD)/user
# Ordinary C: each vcpu has its own x87/SSE/AVX state (docs/vcpus.md), so no
# -mgeneral-regs-only (the kernel keeps it), and the red zone is the code's own
# (upcalls run on their own stack; pg_context_resume skips it).
UCFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -MMD -MP \
	-ffreestanding -fno-builtin -fno-pie -fno-pic -static -nostdlib -fno-stack-protector \
	-fno-asynchronous-unwind-tables -I. -Iuser/lib -Iuser/rt
# W^X holds by construction: user.ld gives each segment fixed flags (R, RX, RW).
ULDFLAGS := -nostdlib -static -no-pie -z noexecstack -z max-page-size=4096 \
	-Wl,--build-id=none -Wl,--fatal-warnings -T user/user.ld

# libpagoda: user/lib/*.{c,S} and user/rt/*.c, plus the kernel's pure formatter, string
# routines, ELF checker and cpio reader (lib/), shared so there is one implementation of
# each, host-tested once. crt0 is linked first, not archived.
ULIB_SRCS := $(wildcard user/lib/*.c user/lib/*.S) $(wildcard user/rt/*.c)
ULIB_SHARED := lib/fmt.c lib/string.c lib/elf.c lib/cpio.c lib/sort.c
UCRT0 := $(UBUILD)/lib/crt0.o
ULIB_OBJS := $(filter-out $(UCRT0),$(patsubst user/%,$(UBUILD)/%.o,$(basename $(ULIB_SRCS)))) \
	$(ULIB_SHARED:lib/%.c=$(UBUILD)/klib/%.o)
ULIB := $(UBUILD)/libpagoda.a

# Programs: one .c file each; the name is the file name without .c, and must be unique.
# user/init/init.c is the root task (the one program the kernel starts); user/prog/
# holds what `make run PROG=name` may run.
UPROG_SRCS := $(sort $(wildcard tests/user/*.c user/prog/*.c user/drv/*.c) user/init/init.c)
# init's other files (its test runner) are linked into it.
INIT_OBJS := $(patsubst user/init/%.c,$(UBUILD)/init/%.o,$(filter-out user/init/init.c,$(wildcard user/init/*.c)))
UPROG_NAMES := $(notdir $(basename $(UPROG_SRCS)))
ifneq ($(words $(UPROG_NAMES)),$(words $(sort $(UPROG_NAMES))))
$(error user.mk: two programs share a name in tests/user/ and user/prog/: $(UPROG_NAMES))
endif
UPROG_ELFS := $(UPROG_NAMES:%=$(UBUILD)/%.elf)
# The archive holds copies without debug info, to keep it small.
UPROG_BOOT := $(UPROG_NAMES:%=$(UBUILD)/boot/%)
BOOT_ARCHIVE := $(BUILD)/boot.cpio

.PHONY: user uprogs-force
user: $(UPROG_ELFS) $(BOOT_ARCHIVE)

$(UBUILD)/lib/%.o: user/lib/%.c user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UCC   $<"
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

$(UBUILD)/rt/%.o: user/rt/%.c user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UCC   $<"
	$(Q)$(CC) $(UCFLAGS) -Iuser/rt -c $< -o $@

$(UBUILD)/lib/%.o: user/lib/%.S user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UAS   $<"
	$(Q)$(CC) $(UCFLAGS) -D__ASSEMBLY__ -c $< -o $@

# FMT_FLOAT: user space has lib/fmt.c's %f %e %g, which read double arguments; the
# kernel's build of lib/ (no SSE) leaves them out.
$(UBUILD)/klib/%.o: lib/%.c user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UCC   $<"
	$(Q)$(CC) $(UCFLAGS) -DFMT_FLOAT -c $< -o $@

$(ULIB): $(ULIB_OBJS)
	@echo "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# fpcalc's expected results: what the build host computes (tools/fpcalc_gen.c).
$(UBUILD)/fpcalc_want.h: tools/fpcalc_gen.c tests/user/fpcalc.h
	@mkdir -p $(dir $@)
	@echo "  GEN   $@"
	$(Q)$(CC) -std=c11 -O2 -Wall -Wextra -Werror -I. $< -o $(UBUILD)/fpcalc_gen && $(UBUILD)/fpcalc_gen > $@.tmp
	$(Q)mv $@.tmp $@
$(UBUILD)/prog/fpcalc.o: $(UBUILD)/fpcalc_want.h
$(UBUILD)/prog/fpcalc.o: UCFLAGS += -I$(UBUILD)

$(UBUILD)/prog/%.o: tests/user/%.c user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UCC   $<"
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

$(UBUILD)/prog/%.o: user/drv/%.c user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UCC   $<"
	$(Q)$(CC) $(UCFLAGS) -Iuser/drv -c $< -o $@

$(UBUILD)/prog/%.o: user/prog/%.c user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UCC   $<"
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

# Static pattern rules: every file in the chain is named explicitly, so make never
# deletes one as an intermediate. libpagoda and libgcc may each need the other.
$(UBUILD)/prog/init.o: user/init/init.c user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UCC   $<"
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

$(UBUILD)/init/%.o: user/init/%.c user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UCC   $<"
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

$(UBUILD)/init.elf: $(INIT_OBJS)

$(UPROG_ELFS): $(UBUILD)/%.elf: $(UCRT0) $(UBUILD)/prog/%.o $(ULIB) user/user.ld user/user.mk
	@echo "  ULD   $@"
	$(Q)$(CC) $(ULDFLAGS) -o $@ $(UCRT0) $(UBUILD)/prog/$*.o $(filter $(UBUILD)/init/%.o,$^) \
		-Wl,--start-group $(ULIB) $(LIBGCC) -Wl,--end-group

$(UPROG_BOOT): $(UBUILD)/boot/%: $(UBUILD)/%.elf
	@mkdir -p $(dir $@)
	$(Q)objcopy --strip-debug $< $@

# The program list changes only when a program is added or removed; rewriting this
# file only then lets the archive drop a removed program's member.
$(UBUILD)/uprogs.list: uprogs-force
	@mkdir -p $(dir $@)
	@echo '$(UPROG_NAMES)' | cmp -s - $@ || echo '$(UPROG_NAMES)' > $@

# The boot archive: the programs of the list, sorted, with fixed times and owners
# (--reproducible), so the same programs make the same bytes.
$(BOOT_ARCHIVE): $(UBUILD)/uprogs.list $(UPROG_BOOT)
	@echo "  CPIO  $@"
	$(Q)cd $(UBUILD)/boot && printf '%s\n' $(UPROG_NAMES) | LC_ALL=C sort | \
		cpio -o -H newc --quiet --reproducible --owner=0:0 > $(abspath $@).tmp
	$(Q)mv $@.tmp $@

-include $(wildcard $(UBUILD)/lib/*.d $(UBUILD)/klib/*.d $(UBUILD)/prog/*.d $(UBUILD)/init/*.d)

# Restore the default goal (empty: the next target the top Makefile defines, `all`).
.DEFAULT_GOAL := $(UPREV_GOAL)
