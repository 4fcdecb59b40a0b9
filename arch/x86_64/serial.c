// serial.c: the console, a 16550 UART on COM1 (0x3F8), 115200 8N1, transmit only, polled.
#include <arch/arch.h>
#include "x86.h"

#define COM1 0x3F8

void arch_console_init(void)
{
	outb(COM1 + 1, 0x00); // no interrupts
	outb(COM1 + 3, 0x80); // DLAB on
	outb(COM1 + 0, 0x01); // divisor 1: 115200 baud
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); // 8N1, DLAB off
	outb(COM1 + 2, 0xC7); // FIFO on, cleared
}

static void serial_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

void arch_console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		serial_putc(s[i]);
}
