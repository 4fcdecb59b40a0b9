# hosted.mk: the thread runtime built for Linux (included by the top Makefile):
# $(BUILD)/hosted/rtthreads and rt1m (the runtime's tests) and $(BUILD)/hosted/rtbench.
HBUILD := $(BUILD)/hosted
# FMT_FLOAT: pg_printf has %f %e %g here too, as on pagoda.
HOSTED_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -DRT_HOSTED -DFMT_FLOAT \
	-I. -Iuser/lib -Iuser/rt -fno-omit-frame-pointer -Dmain=pg_program_main
HOSTED_LIB := user/rt/rt.c user/rt/sync.c user/rt/deque.c user/rt/hosted/plat_linux.c user/rt/hosted/pgshim.c \
	user/lib/context.S user/lib/utest.c user/lib/printf.c user/lib/strerror.c lib/fmt.c
HOSTED_BINS := $(HBUILD)/rtthreads $(HBUILD)/rtbench $(HBUILD)/rt1m

$(HBUILD)/rtthreads: tests/user/rtthreads.c $(HOSTED_LIB) $(wildcard user/rt/*.h user/lib/*.h) lib/tcheck.h
$(HBUILD)/rt1m: tests/user/rt1m.c $(HOSTED_LIB) $(wildcard user/rt/*.h user/lib/*.h tests/user/*.h) lib/tcheck.h
$(HBUILD)/rtbench: user/prog/rtbench.c $(HOSTED_LIB) $(wildcard user/rt/*.h user/lib/*.h)
$(HOSTED_BINS):
	@mkdir -p $(dir $@)
	@echo "  HOSTCC $@"
	$(Q)$(CC) $(HOSTED_CFLAGS) $(filter %.c %.S,$^) -o $@

hosted: $(HOSTED_BINS)
