//! Opens a page of the engine in the default browser: where this Windows PC has no WebView2
//! runtime, the screens show there instead of in the app's windows (desktop.rs, `Screens`).

/// Windows: the shell's "open" verb, as a double-click on a link does.
#[cfg(windows)]
#[allow(unsafe_code)]
pub fn open(url: &str) -> Result<(), String> {
    use windows_sys::Win32::UI::Shell::ShellExecuteW;
    use windows_sys::Win32::UI::WindowsAndMessaging::SW_SHOWNORMAL;

    let wide = |s: &str| s.encode_utf16().chain(Some(0)).collect::<Vec<u16>>();
    let (verb, file) = (wide("open"), wide(url));
    // SAFETY: both strings are NUL-terminated and outlive the call; the null pointers are the
    // documented "none" for the parameters, directory and owner window.
    let code = unsafe {
        ShellExecuteW(
            std::ptr::null_mut(),
            verb.as_ptr(),
            file.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            SW_SHOWNORMAL,
        )
    } as isize;
    // Values above 32 mean success; the others are the documented SE_ERR_* codes.
    if code > 32 {
        Ok(())
    } else {
        Err(format!("ShellExecuteW returned {code}"))
    }
}

/// Elsewhere the webview is a dependency of the package, so this is a fallback only.
#[cfg(not(windows))]
pub fn open(url: &str) -> Result<(), String> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(url)
        .spawn()
        .map(drop)
        .map_err(|e| format!("{opener}: {e}"))
}
