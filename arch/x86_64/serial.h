// serial.h: COM1, polled. No locking here: console.c serialises writers.
#ifndef ARCH_SERIAL_H
#define ARCH_SERIAL_H
void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, int n);
#endif
