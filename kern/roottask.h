// roottask.h: starting init, the root task (roottask.c).
#ifndef KERN_ROOTTASK_H
#define KERN_ROOTTASK_H

// Starts init from the boot archive with the kernel's handles, waits until its last
// vcpu stops, and ends the machine: EXIT_SUCCESS_CODE if init ended with status 0 and
// no fault, else EXIT_FAILURE_CODE (also when there is no init, said on the console).
// Call from cpu0's idle thread (kmain).
__attribute__((noreturn)) void roottask_run(void);

#endif
