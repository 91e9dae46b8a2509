// Wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's standard library imports on
// Windows: this stand-in, put next to otklik.exe for the tests under Wine only (real Windows has
// the DLL since Windows 8), answers it from RtlGenRandom. Built by scripts/windows.sh.
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!RtlGenRandom(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
