// errors.h: the error codes every pagoda call returns, shared by kernel and user space.
// 0 is success; each failure has its own negative code so callers can tell them apart.
#ifndef PAGODA_ERRORS_H
#define PAGODA_ERRORS_H

#define E_OK       0
#define E_INVAL   (-1)  // malformed argument (alignment, flags, zero length)
#define E_NOMEM   (-2)  // out of frames, heap or quota
#define E_RANGE   (-3)  // address or length outside what the object allows
#define E_EXISTS  (-4)  // something is already there
#define E_NOENT   (-5)  // nothing is there
#define E_BUSY    (-6)  // resource in use
#define E_FAULT   (-7)  // bad user pointer
#define E_BADH    (-8)  // handle index invalid or closed
#define E_TYPE    (-9)  // handle names an object of the wrong type
#define E_RIGHTS  (-10) // handle lacks a needed right
#define E_BUDGET  (-11) // the space's shootdown budget is spent
#define E_NOSYS   (-12) // no such call
#define E_TIMEOUT (-13) // waited too long
#define E_LAST    E_TIMEOUT

#endif
