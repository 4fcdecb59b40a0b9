/*
 * shootdown.pml: a Promela model of pagoda's TLB-shootdown protocol (SPEC.md section 2,
 * "The shootdown protocol"), for the no-PCID case (QEMU TCG): a CPU holds translations
 * of a space only while that space is its current CR3.
 *
 * Checked by tools/spin/check.sh; described in docs/shootdown-model.md.
 *
 * Configuration (spin -DNAME=VALUE):
 *   NCPU      number of CPUs (default 2; checked with 2 and 3)
 *   NCALLERS  CPUs 0 .. NCALLERS-1 make system calls (default 2); the others only
 *             switch spaces, touch the page, take ticks and interrupts
 *   NO_T      leave out the second space T (only a source of concurrent cross-calls)
 *   NO_DELETE leave out space_delete
 *   ACCESS_ONLY  check (a) and (b) only at each access, not also in their strong
 *             form when the call returns (the negative controls use this, so that
 *             what spin finds is an actual bad access)
 * Deliberately broken variants (negative controls: spin must find a violation):
 *   BUG_SKIP_REMOTE          the sync shootdown on S sends no request to other CPUs
 *   BUG_CLEAR_BEFORE_CR3     switching away from S leaves S.cpus before the CR3 write
 *   BUG_LOAD_BEFORE_SET      switching to S writes CR3 before joining S.cpus
 *   BUG_LAZY_SNAPSHOT_FIRST  lazy unmap reads S.cpus before clearing the PTE
 *   BUG_NO_POLL              a CPU waiting for acks does not serve its own
 *                            cross-call inbox (it waits with interrupts off);
 *                            expected: an invalid end state, i.e. a deadlock
 *   BUG_NO_POLL_LOCK         a CPU spinning on a space lock (or in space_delete's
 *                            wait for S.cpus to drain) does not serve its inbox;
 *                            expected: a deadlock
 *
 * What is modelled: one page, VA "v", of space S.
 *   - the PTE of v in memory: present, writable, frame;
 *   - each CPU's TLB entry for v: valid, writable, frame (x86 caches only present
 *     entries; a CR3 write drops it);
 *   - S.cpus and T.cpus (atomic bit sets), each CPU's CR3 (IDLE = kernel-only tables,
 *     S or T), the per-CPU cross-call inbox of kern/xcall.c (pending-sender bits; the
 *     request and its ack counter live on the sender's stack), S's and T's locks, the
 *     lazy-unmap quiescent snapshot (kern/epoch.h), S's dying/deleted state;
 *   - two frames, 1 and 2, which map uses alternately; the ghost freed[f] says that f
 *     is in the allocator, so an access through f then is the reuse hazard.
 * Every CPU can do anything at any time, any number of times (calls included), and
 * may at any time stop and only take interrupts from then on (see the end of cpu).
 *
 * Memory order: Promela's interleaving is sequentially consistent; the kernel gets
 * that where it matters from its fences (the atomic OR into S.cpus is a locked RMW,
 * and a full fence separates the PTE write from the read of S.cpus).
 *
 * Atomicity: a step of the model is one atomic action of the kernel, or several
 * merged where that cannot hide an interleaving that matters (Lipton reduction: a
 * lock acquire moves right, a release left, a CPU's own TLB is touched only by that
 * CPU; see "Atomic steps" in docs/shootdown-model.md). The races the protocol is
 * about stay separate steps: PTE write / read of S.cpus / CPU-set bit / CR3 write.
 */

#ifndef NCPU
#define NCPU 2
#endif
#ifndef NCALLERS
#define NCALLERS 2
#endif

#define IDLE  0     /* kernel-only CR3 */
#define SP_S  1     /* the space whose page is modelled */
#define SP_T  2     /* a second space: only its cross-calls are modelled */

#ifdef ACCESS_ONLY
#define STRONG 0
#else
#define STRONG 1
#endif

#define B(c)        (1 << (c))
#define HAS(set, c) ((((set) >> (c)) & 1) == 1)

/* ---------------- shared state (the kernel's memory and the MMU) ---------------- */
byte cr3[NCPU];             /* current CR3: IDLE, SP_S or SP_T (cpu->loaded) */
byte scpus;                 /* S.cpus */
byte tcpus;                 /* T.cpus */
bool tlb_v[NCPU];           /* each CPU's TLB entry for v (S's translation) */
bool tlb_w[NCPU];
byte tlb_f[NCPU];
bool pte_p = 1;             /* PTE of v: initially present, RW, frame 1 */
bool pte_w = 1;
byte pte_f = 1;
byte last_f = 1;            /* frame allocator: the frame map took last */
byte slock;                 /* S's lock: 0 free, else holder + 1 */
byte tlock;                 /* T's lock */
byte pending[NCPU];         /* xcall inbox of each CPU: bit s = sender s queued */
byte req_sp[NCPU];          /* sender s's request: which space to flush */
byte acks[NCPU];            /* sender s's outstanding-ack counter */
byte lazy_f;                /* frame of a lazily unmapped v awaiting reclaim; 0 none */
byte qwait;                 /* quiescent snapshot: bit c = counter of c must advance */
bool dying;                 /* space_delete(S) began: no CPU may load S again */
bool deleted;               /* space_delete(S) finished */

/* ---------------- ghost state (for the properties only) ---------------- */
byte ro_f;                  /* (a) frame whose protect(RW->R) has returned; 0 none */
bool freed[3] = 1;          /* (b),(c) frame f is in the allocator (init maps 1) */

/* Drop CPU c's TLB entry (fields zeroed so that equal TLB states compare equal). */
inline tlb_drop(c) {
	tlb_v[c] = 0; tlb_w[c] = 0; tlb_f[c] = 0
}

/*
 * A user-mode access to v by CPU me (wr: write) while S is its CR3: use the TLB entry
 * if there is one, else walk the PTE and cache it (TLB fill). Checked:
 *  (b),(c) no access goes through a freed frame (sync unmap returned, lazy unmap
 *          reclaimed, space deleted);
 *  (a)     no write goes through a writable translation of a frame whose
 *          protect(RW->R) has returned.
 * A write through a read-only entry faults and x86 drops the faulting entry; a
 * not-present PTE faults (a FAULT upcall, nothing to model).
 */
inline access1(me, wr) {
	d_step {
		if
		:: cr3[me] == SP_S ->
			assert(!deleted);
			if
			:: !tlb_v[me] && pte_p ->                           /* TLB fill */
				tlb_v[me] = 1; tlb_w[me] = pte_w; tlb_f[me] = pte_f
			:: else -> skip
			fi;
			if
			:: tlb_v[me] ->
				assert(!freed[tlb_f[me]]);                      /* (b), (c) */
				if
				:: !wr -> skip                                  /* read */
				:: wr && tlb_w[me] -> assert(ro_f != tlb_f[me]) /* write: (a) */
				:: wr && !tlb_w[me] -> tlb_drop(me)             /* write: #PF */
				fi
			:: else -> skip                                     /* #PF */
			fi
		:: else -> skip
		fi
	}
}
/* (d_step resolves choices deterministically, so read/write is chosen outside it) */
inline access(me) {
	if
	:: access1(me, 0)
	:: access1(me, 1)
	fi
}

/*
 * Cross-call receive (xcall_poll: the IPI handler, or any CPU spinning): claim every
 * queued request at once (exchange(pending, 0)); for each, flush v only if the
 * request is for S and S is the current CR3 (otherwise the last CR3 write already
 * dropped S's entries), then acknowledge (decrement the sender's counter).
 * Executable only when a request is pending; it may be delayed arbitrarily.
 */
inline serve(me) {
	d_step {
		pending[me] != 0;
		s = 0;
		do
		:: s < NCPU ->
			if
			:: HAS(pending[me], s) ->
				if
				:: req_sp[s] == SP_S && cr3[me] == SP_S -> tlb_drop(me)  /* invlpg */
				:: else -> skip
				fi;
				assert(acks[s] > 0);
				acks[s] = acks[s] - 1                                    /* ack */
			:: else -> skip
			fi;
			s++
		:: else -> break
		od;
		pending[me] = 0;
		s = 0
	}
}

/* Every spin loop of the kernel serves the CPU's own inbox (xcall_poll). */
#ifdef BUG_NO_POLL_LOCK
#define POLL_WHILE_SPINNING  false -> skip
#else
#define POLL_WHILE_SPINNING  serve(me)
#endif
#ifdef BUG_NO_POLL
#define POLL_WHILE_WAITING_ACKS  false -> skip
#else
#define POLL_WHILE_WAITING_ACKS  serve(me)
#endif

/*
 * The parts of a CR3 switch (used inside d_steps). A CR3 write drops every
 * non-global TLB entry; then the CPU's quiescent counter is bumped (no user access
 * in between, epoch.h), which clears its bit in the lazy-unmap snapshot.
 */
inline load_cr3(nw) {
	assert(nw != SP_S || !deleted);
	cr3[me] = nw;
	tlb_drop(me);
	qwait = qwait & ~B(me)
}
inline join(sp) {
	if
	:: sp == SP_S -> scpus = scpus | B(me)          /* atomic OR, full fence */
	:: sp == SP_T -> tcpus = tcpus | B(me)
	:: else -> skip
	fi
}
inline leave(sp) {
	if
	:: sp == SP_S -> scpus = scpus & ~B(me)         /* atomic AND */
	:: sp == SP_T -> tcpus = tcpus & ~B(me)
	:: else -> skip
	fi
}

/*
 * What the kernel may do during a switch while S's CR3 is loaded: touch S's memory
 * (the vcpu save area) or fill the TLB speculatively. Only the switch-order bugs
 * have a point where S's CR3 is loaded while the CPU is outside S.cpus, and they use
 * this there. (In the correct order S's CR3 is loaded only inside S.cpus, where such
 * an access is the same as one from the main loop.)
 */
inline window() {
	if
	:: access(me)
	:: skip
	fi
}

/*
 * Context switch of CPU me from its current CR3 to nw (IDLE, SP_S or SP_T):
 *   switch-in:  join nw's set (atomic OR, full fence); for S re-check dying
 *               (space_delete sets dying, then waits for S.cpus to be empty: a
 *               Dekker pair, so either the CPU sees dying or delete sees its bit)
 *               and back off if it is set; then write CR3;
 *   switch-out: the new CR3 is written first, then the CPU leaves the old set.
 * Steps: S's set bit and the CR3 write around it are separate steps; T's set and
 * the idle CR3 do not matter to S and move with the neighbouring step.
 */
inline switch_to(nw) {
	if
	:: nw == SP_S ->                                /* switch-in to S */
#ifdef BUG_LOAD_BEFORE_SET
		/* BUG: CR3 first, then join: a caller reading S.cpus in between misses
		 * this CPU, which may fill its TLB from the old PTE meanwhile. */
		d_step {
			cur = cr3[me];
			if
			:: dying -> ok = 0
			:: else -> ok = 1; load_cr3(SP_S)
			fi
		}
		if
		:: ok ->
			window();
			d_step { scpus = scpus | B(me); leave(cur) }
		:: else -> skip
		fi;
#else
		d_step { cur = cr3[me]; scpus = scpus | B(me) }     /* join S (+fence) */
		d_step {
			if
			:: dying -> scpus = scpus & ~B(me)  /* delete won: stay put */
			:: else -> load_cr3(SP_S); leave(cur)   /* write CR3 */
			fi
		}
#endif
	:: nw != SP_S && cr3[me] == SP_S ->             /* switch-out from S */
#ifdef BUG_CLEAR_BEFORE_CR3
		/* BUG: leave S.cpus before the CR3 write, while S's CR3 is still loaded
		 * and the kernel may still touch S's memory. */
		scpus = scpus & ~B(me);
		window();
		d_step { join(nw); load_cr3(nw) }
#else
		d_step { join(nw); load_cr3(nw) }       /* write the new CR3 first */
		scpus = scpus & ~B(me)                  /* then leave S.cpus */
#endif
	:: nw != SP_S && cr3[me] != SP_S ->             /* S not involved */
		d_step { cur = cr3[me]; join(nw); load_cr3(nw); leave(cur) }
	fi;
	d_step { cur = 0; ok = 0 }
}

/*
 * Sync shootdown steps (3)-(5) for space sp by caller me, after step (1), the PTE
 * edit, and step (2), the fence (implicit), under sp's lock:
 *   (3) targets = sp.cpus read now, minus the caller;
 *   (5) send a request to every target (xcall send: fetch_or into its pending bits,
 *       the ack counter set to the number of targets);
 *   (4) local invlpg if the caller has S loaded (the kernel does it after sending,
 *       so that the targets flush while it does: kern/shootdown.c).
 * One step: a request sent is one the target has not taken yet, and a target takes
 * it at any later time anyway, so sending them all at the moment of the read loses
 * no behaviour; the caller's own TLB is touched by no other CPU, so the order of (4)
 * and (5) within the step changes nothing any CPU can see.
 */
inline shoot_send(sp) {
	if
	:: sp == SP_S -> tg = scpus & ~B(me)
	:: else -> tg = tcpus & ~B(me)
	fi;
#ifdef BUG_SKIP_REMOTE
	if
	:: sp == SP_S -> tg = 0                     /* BUG: no remote flush */
	:: else -> skip
	fi;
#endif
	if
	:: sp == SP_S && cr3[me] == SP_S -> tlb_drop(me)     /* (4) */
	:: else -> skip
	fi;
	req_sp[me] = sp;
	s = 0;
	do
	:: s < NCPU ->
		if
		:: HAS(tg, s) ->
			acks[me] = acks[me] + 1;
			pending[s] = pending[s] | B(me)
		:: else -> skip
		fi;
		s++
	:: else -> break
	od;
	s = 0;
	tg = 0
}
/* (5) wait for every ack, serving our own inbox meanwhile (the step after it is an
 * atomic, not a d_step: Spin does not allow a jump into a d_step) */
inline wait_acks() {
	do
	:: acks[me] == 0 -> break
	:: POLL_WHILE_WAITING_ACKS
	od
}

/*
 * Return frame fr to the allocator (inside an atomic step). Checked first if chk: no
 * TLB holds an entry for it: property (c) for a lazily unmapped frame, and for a sync
 * unmap or space_delete property (b) in its strong form (a CPU holding such an entry
 * could use it at its next step). The ghost for (a) ends with the frame.
 */
inline free_frame(fr, chk) {
	s = 0;
	do
	:: s < NCPU -> assert(!(chk && tlb_v[s] && tlb_f[s] == fr)); s++    /* (b), (c) */
	:: else -> break
	od;
	s = 0;
	assert(!freed[fr]);                                                 /* double free */
	freed[fr] = 1;
	if
	:: ro_f == fr -> ro_f = 0
	:: else -> skip
	fi
}

/* ------- the calls (each under S's lock, so mapping edits on S are serial) ------- */
/* spin_lock is a loop that polls the inbox; taking the lock is merged with the first
 * step done under it, and releasing it with the last. */

/* protect(v, R): lower rights with a sync shootdown. */
inline op_protect_down() {
	do
	:: atomic {
		slock == 0 ->                               /* spin_lock(S) */
		if
		:: !deleted && pte_p ->
			slock = me + 1; pte_w = 0; ok = 1       /* (1) edit the PTE */
		:: else -> ok = 0                           /* error, unlock */
		fi
	   }; break
	:: POLL_WHILE_SPINNING
	od;
	if
	:: ok ->
		d_step { shoot_send(SP_S) }                 /* (2)-(5) */
		wait_acks();                                /* (5) */
		atomic {                                    /* (6) return, unlock */
			s = 0;                              /* (a), strong form: no */
			do                                  /* writable entry anywhere */
			:: s < NCPU ->
				assert(!(STRONG && tlb_v[s] && tlb_w[s] && tlb_f[s] == pte_f));
				s++
			:: else -> break
			od;
			s = 0;
			ro_f = pte_f;                       /* ghost for (a) at each write */
			req_sp[me] = 0; ok = 0;
			slock = 0
		}
	:: else -> skip
	fi
}

/* protect(v, RW): raising rights sends no IPI (a stale read-only entry faults once
 * and the fault drops it). Writes to the frame are legitimate again. */
inline op_protect_up() {
	do
	:: atomic {
		slock == 0 ->
		if
		:: !deleted && pte_p -> pte_w = 1; ro_f = 0
		:: else -> skip
		fi
	   }; break
	:: POLL_WHILE_SPINNING
	od
}

/* unmap(v), synchronous: the frame is freed only after every ack (step 6). */
inline op_unmap_sync() {
	do
	:: atomic {
		slock == 0 ->
		if
		:: !deleted && pte_p ->
			slock = me + 1; ok = 1;
			f = pte_f; pte_p = 0; pte_w = 0; pte_f = 0      /* (1) */
		:: else -> ok = 0
		fi
	   }; break
	:: POLL_WHILE_SPINNING
	od;
	if
	:: ok ->
		d_step { shoot_send(SP_S) }                         /* (2)-(5) */
		wait_acks();                                        /* (5) */
		atomic {
			free_frame(f, STRONG);                      /* (6) free */
			f = 0; req_sp[me] = 0; ok = 0;
			slock = 0
		}
	:: else -> skip
	fi
}

/* unmap(v, UNMAP_LAZY): clear the PTE, no IPI; then (fence) read S.cpus and
 * snapshot each member's quiescent counter (one step: reading a counter later only
 * makes the snapshot more conservative). v and its frame stay busy until each of
 * those CPUs has passed a quiescent point. */
inline op_unmap_lazy() {
	do
	:: atomic {
		slock == 0 ->
		if
		:: !deleted && pte_p ->
			slock = me + 1; ok = 1;
#ifdef BUG_LAZY_SNAPSHOT_FIRST
			qwait = scpus                               /* BUG: snapshot first */
#else
			lazy_f = pte_f; pte_p = 0; pte_w = 0; pte_f = 0 /* clear the PTE */
#endif
		:: else -> ok = 0
		fi
	   }; break
	:: POLL_WHILE_SPINNING
	od;
	if
	:: ok ->
		d_step {
#ifdef BUG_LAZY_SNAPSHOT_FIRST
			lazy_f = pte_f; pte_p = 0; pte_w = 0; pte_f = 0;
#else
			qwait = scpus;                              /* snapshot */
#endif
			ok = 0;
			slock = 0
		}
	:: else -> skip
	fi
}

/* map(v, frame, RW): an error over a present mapping; E_BUSY while a lazy unmap of v
 * has not passed its quiescent points, and if it has, the frame is reclaimed first
 * (property (c) checked there). A 0->1 PTE change needs no flush. One step under the
 * lock: the snapshot can only drain, and nothing can fill a TLB from the cleared PTE
 * meanwhile, so the check and the reclaim cannot be invalidated before the write. */
inline op_map() {
	do
	:: atomic {
		slock == 0 ->
		if
		:: !deleted && !pte_p ->
			if
			:: lazy_f != 0 && qwait == 0 ->
				d_step { free_frame(lazy_f, 1); lazy_f = 0 }    /* reclaim: (c) */
			:: else -> skip
			fi;
			if
			:: lazy_f == 0 ->
				/* both frames are free now (the last one was freed by a sync
				 * unmap or reclaimed above); take the other one, so that a
				 * stale entry for the last one stays recognisable */
				d_step {
					last_f = 3 - last_f;
					assert(freed[last_f]);
					freed[last_f] = 0;
					pte_f = last_f; pte_w = 1; pte_p = 1
				}
			:: else -> skip                                 /* E_BUSY */
			fi
		:: else -> skip
		fi
	   }; break
	:: POLL_WHILE_SPINNING
	od
}

/* space_delete(S): mark dying (no CPU loads S again), get the caller off S if it
 * runs S, wait until S.cpus is empty (the kernel stops the vcpus running S; in the
 * model the other CPUs leave in their own time), then under the lock tear the
 * mapping down with the same sync shootdown and free everything, the lazily unmapped
 * frame too: nothing runs S and nothing can load it, so no TLB holds its entries. */
inline op_delete() {
	d_step {
		if
		:: !dying -> dying = 1; ok = 1
		:: else -> ok = 0                           /* already being deleted: error */
		fi
	}
	if
	:: ok ->
		if
		:: cr3[me] == SP_S -> switch_to(IDLE)
		:: else -> skip
		fi;
		do
		:: scpus == 0 -> break
		:: POLL_WHILE_SPINNING
		od;
		do
		:: atomic {
			slock == 0 -> slock = me + 1;
			if
			:: pte_p -> ok = 1; f = pte_f; pte_p = 0; pte_w = 0; pte_f = 0
			:: else -> ok = 0
			fi
		   }; break
		:: POLL_WHILE_SPINNING
		od;
		if
		:: ok ->
			d_step { shoot_send(SP_S) }
			wait_acks();
			atomic { free_frame(f, STRONG); f = 0; req_sp[me] = 0 }
		:: else -> skip
		fi;
		d_step {
			if
			:: lazy_f != 0 -> free_frame(lazy_f, 1); lazy_f = 0; qwait = 0
			:: else -> skip
			fi;
			deleted = 1;
			ok = 0;
			slock = 0
		}
	:: else -> skip
	fi
}

/* A shootdown on another space T (T's page is not modelled): with it two CPUs can
 * wait for each other's acks at the same time, which is what (d) is about. */
inline op_protect_T() {
	do
	:: atomic { tlock == 0 -> tlock = me + 1; d_step { shoot_send(SP_T) } }; break
	:: POLL_WHILE_SPINNING
	od;
	wait_acks();
	atomic { req_sp[me] = 0; tlock = 0 }
}

/* ---------------- the CPUs ---------------- */

proctype cpu(byte me)
{
	byte tg, s, f;      /* locals of the calls (kernel stack) */
	byte cur;
	bool ok;

	/* A CPU's life: any of these, in any order, any number of times. */
	do
	:: serve(me)                                    /* IPI taken (after any delay) */
	:: cr3[me] != SP_S && !dying -> switch_to(SP_S) /* run a vcpu of S */
#ifndef NO_T
	:: me < NCALLERS && cr3[me] != SP_T ->          /* run a vcpu of T (callers only: */
		switch_to(SP_T)                         /* T is there for (d)) */
#endif
	:: cr3[me] != IDLE -> switch_to(IDLE)           /* idle: kernel-only CR3 */
	:: cr3[me] == SP_S -> access(me)                /* user code reads/writes v */
	:: d_step {                                     /* timer tick: full flush */
		tlb_drop(me);                           /* (CR3 reload), counter++ */
		qwait = qwait & ~B(me)
	   }
	:: me < NCALLERS ->                             /* a system call */
		if
		:: op_protect_down()
		:: op_protect_up()
		:: op_unmap_sync()
		:: op_unmap_lazy()
		:: op_map()
#ifndef NO_DELETE
		:: op_delete()
#endif
#ifndef NO_T
		:: op_protect_T()
#endif
		fi
	:: break                                        /* stop (see below) */
	od;

	/* The CPU stops running user code and only takes interrupts. Once every CPU is
	 * here the system must be able to stop with every call returned: a state where
	 * no CPU can move and some CPU is elsewhere (a caller waiting for acks, a lock,
	 * or S.cpus to drain) is an invalid end state: property (d). */
	if
	:: cr3[me] != IDLE -> switch_to(IDLE)
	:: else -> skip
	fi;
end_idle:
	do
	:: serve(me)
	od
}

init {
	byte i;
	atomic {
		freed[1] = 0;                           /* frame 1 is mapped at v */
		i = 0;
		do
		:: i < NCPU -> run cpu(i); i++
		:: else -> break
		od
	}
}
