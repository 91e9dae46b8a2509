; The Windows installer (NSIS), built on Linux by scripts/windows.sh with Debian's makensis:
;   makensis -DVERSION=0.1.0 -DEXE=path/to/otklik.exe -DWEBVIEW2_LOADER=path/to/WebView2Loader.dll \
;            -DOUTFILE=path/to/setup.exe otklik.nsi
; WebView2Loader.dll goes beside otklik.exe: a build for the GNU target links it as a DLL (the
; MSVC one links it statically).
; Not the Tauri bundler's own NSIS: it first downloads its plugin nsis_tauri_utils.dll from the
; web and refuses to go on without it (docs/windows-notes.md). The names below are the ones the
; Tauri template uses (install folder, uninstall key, start menu folder), so either installer
; upgrades the other's installation.
; Per machine, in Russian, English and Spanish. The uninstaller removes the program only: the
; data directory (%APPDATA%\otklik: the database, photos, backups) stays.

Unicode true
; A 64-bit installer for the 64-bit program (and one Wine runs without its 32-bit half).
Target amd64-unicode
!include MUI2.nsh
!include LogicLib.nsh

!ifndef VERSION | EXE | WEBVIEW2_LOADER | OUTFILE
  !error "define VERSION, EXE, WEBVIEW2_LOADER and OUTFILE (see the top of this file)"
!endif

!define PRODUCT "Otklik"
!define PUBLISHER "Otklik"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${PRODUCT}"
; Microsoft Edge WebView2 Runtime, which the desktop window needs (the engine does not).
!define WEBVIEW2_KEY "SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"

Name "${PRODUCT}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${PRODUCT}"
InstallDirRegKey HKLM "Software\${PUBLISHER}\${PRODUCT}" ""
RequestExecutionLevel admin
SetCompressor /SOLID lzma
BrandingText "${PRODUCT} ${VERSION}"

VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "${PRODUCT}"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=0 "FileDescription" "${PRODUCT} ${VERSION}"
VIAddVersionKey /LANG=0 "LegalCopyright" "MIT"

!define MUI_ICON "..\..\assets\icons\icon.ico"
!define MUI_UNICON "..\..\assets\icons\icon.ico"
!define MUI_ABORTWARNING
; The language chosen is kept for the uninstaller.
!define MUI_LANGDLL_REGISTRY_ROOT HKLM
!define MUI_LANGDLL_REGISTRY_KEY "Software\${PUBLISHER}\${PRODUCT}"
!define MUI_LANGDLL_REGISTRY_VALUENAME "Installer Language"
!define MUI_FINISHPAGE_RUN "$INSTDIR\otklik.exe"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "Russian"
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "Spanish"

LangString NoWebView2 ${LANG_RUSSIAN} "На этом компьютере нет Microsoft Edge WebView2 Runtime: без него не откроется окно Отклика (движок и экраны в браузере работают). Установите его с сайта Microsoft («WebView2 Runtime, Evergreen»)."
LangString NoWebView2 ${LANG_ENGLISH} "Microsoft Edge WebView2 Runtime is not on this PC: Otklik's window needs it (the engine and the screens in a browser work without it). Install it from Microsoft (WebView2 Runtime, Evergreen)."
LangString NoWebView2 ${LANG_SPANISH} "Este equipo no tiene Microsoft Edge WebView2 Runtime: la ventana de Otklik lo necesita (el motor y las pantallas en el navegador funcionan sin él). Instálelo desde Microsoft (WebView2 Runtime, Evergreen)."
LangString DataKept ${LANG_RUSSIAN} "Данные Отклика (база, фото, резервные копии) остаются в %APPDATA%\otklik, данные службы — в %ProgramData%\Otklik."
LangString DataKept ${LANG_ENGLISH} "Otklik's data (database, photos, backups) stays in %APPDATA%\otklik, the service's in %ProgramData%\Otklik."
LangString DataKept ${LANG_SPANISH} "Los datos de Otklik (base de datos, fotos, copias) se quedan en %APPDATA%\otklik, los del servicio en %ProgramData%\Otklik."
LangString ServiceNotStarted ${LANG_RUSSIAN} "Служба Otklik не запустилась после обновления. Запустите её: sc start Otklik (её журнал — в %ProgramData%\Otklik\logs)."
LangString ServiceNotStarted ${LANG_ENGLISH} "The Otklik service did not start after the upgrade. Start it with: sc start Otklik (its log is in %ProgramData%\Otklik\logs)."
LangString ServiceNotStarted ${LANG_SPANISH} "El servicio Otklik no se inició tras la actualización. Inícielo con: sc start Otklik (su registro está en %ProgramData%\Otklik\logs)."

Function .onInit
  SetRegView 64
  SetShellVarContext all
  ${IfNot} ${Silent}
    !insertmacro MUI_LANGDLL_DISPLAY
  ${EndIf}
FunctionEnd

Var ServiceStopped

Section "Otklik"
  ; An upgrade of a PC running the engine as a service (`otklik service install`): its otklik.exe
  ; is in use until the service stops. `net stop` exits 0 only when it stopped a running one,
  ; which is then started again on the new otklik.exe.
  nsExec::ExecToLog '"$SYSDIR\net.exe" stop ${PRODUCT}'
  Pop $ServiceStopped
  SetOutPath "$INSTDIR"
  File "/oname=otklik.exe" "${EXE}"
  File "/oname=WebView2Loader.dll" "${WEBVIEW2_LOADER}"
  ${If} $ServiceStopped == 0
    nsExec::ExecToLog '"$SYSDIR\net.exe" start ${PRODUCT}'
    Pop $0
    ${If} $0 != 0
      MessageBox MB_ICONEXCLAMATION "$(ServiceNotStarted)" /SD IDOK
    ${EndIf}
  ${EndIf}
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateDirectory "$SMPROGRAMS\${PRODUCT}"
  CreateShortcut "$SMPROGRAMS\${PRODUCT}\${PRODUCT}.lnk" "$INSTDIR\otklik.exe"
  CreateShortcut "$DESKTOP\${PRODUCT}.lnk" "$INSTDIR\otklik.exe"

  WriteRegStr HKLM "Software\${PUBLISHER}\${PRODUCT}" "" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$\"$INSTDIR\otklik.exe$\""
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$\"$INSTDIR$\""
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" "$\"$INSTDIR\uninstall.exe$\""
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" "$\"$INSTDIR\uninstall.exe$\" /S"
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1

  ClearErrors
  ReadRegStr $0 HKLM "${WEBVIEW2_KEY}" "pv"
  ${If} ${Errors}
  ${OrIf} $0 == ""
    ReadRegStr $0 HKCU "${WEBVIEW2_KEY}" "pv"
  ${EndIf}
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    DetailPrint "$(NoWebView2)"
    MessageBox MB_ICONINFORMATION "$(NoWebView2)" /SD IDOK
  ${EndIf}
SectionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
  !insertmacro MUI_UNGETLANGUAGE
FunctionEnd

Section "Uninstall"
  ; The service, if `otklik service install` made one, goes first: it runs this otklik.exe.
  ; Without one this prints "there is no service named Otklik" to the details, and goes on.
  nsExec::ExecToLog '"$INSTDIR\otklik.exe" service uninstall'
  Pop $0
  Delete "$INSTDIR\otklik.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${PRODUCT}\${PRODUCT}.lnk"
  RMDir "$SMPROGRAMS\${PRODUCT}"
  Delete "$DESKTOP\${PRODUCT}.lnk"
  DeleteRegKey HKLM "${UNINSTALL_KEY}"
  DeleteRegKey HKLM "Software\${PUBLISHER}\${PRODUCT}"
  ; The "start with Windows" entry tauri-plugin-autostart wrote for this user.
  DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Run" "${PRODUCT}"
  DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run" "${PRODUCT}"
  DetailPrint "$(DataKept)"
SectionEnd
