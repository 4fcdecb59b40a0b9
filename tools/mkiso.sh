#!/bin/sh
# mkiso.sh: the bootable image, BIOS and UEFI in one ISO (grub-mkrescue: El Torito for
# BIOS GRUB, an EFI system partition for x86_64-efi GRUB, both reading one grub.cfg).
#   mkiso.sh OUT.iso KERNEL.elf "CMDLINE" [MODULE...]
# Each module is copied to /boot/ and loaded with `module2 /boot/NAME NAME`, so the
# kernel sees its file name as the module's string (boot_module.name).
set -e
out=$1 kernel=$2 cmdline=$3
shift 3
dir=$(dirname "$out")/iso.d
rm -rf "$dir"
mkdir -p "$dir/boot/grub"
cp "$kernel" "$dir/boot/kernel.elf"
cfg="$dir/boot/grub/grub.cfg"
sed "s|@CMDLINE@|$cmdline|" tools/grub.cfg > "$cfg"
mods=""
for m in "$@"; do
	name=$(basename "$m")
	cp "$m" "$dir/boot/$name"
	mods="$mods	module2 /boot/$name $name\n"
done
# The module lines replace the @MODULES@ line (none: the line goes).
awk -v mods="$mods" '/@MODULES@/ { printf "%s", mods; next } { print }' "$cfg" > "$cfg.new"
mv "$cfg.new" "$cfg"
# No fonts, locales or themes (serial console), GRUB's modules xz-compressed: 7 MiB, not 21.
grub-mkrescue --compress=xz --fonts= --locales= --themes= -o "$out" "$dir" >"$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
