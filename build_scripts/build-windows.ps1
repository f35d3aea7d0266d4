# Builds Punchclock for Windows with PyInstaller: a one-folder program in
# dist\punchclock\ (Punchclock.exe, the tray app without a console window;
# punchclock-cli.exe, the command line) and dist\punchclock-VERSION-windows-ARCH.zip.
#
#   powershell -ExecutionPolicy Bypass -File build_scripts\build-windows.ps1
#   ... -Python "C:\Python311\python.exe"   # the interpreter for a fresh .venv
#   ... -SkipSelfTest                        # when cross-checking elsewhere
#
# Needs Python 3.11 (PySide6 6.11 pins; shared/TESTING.md). Creates .venv
# and installs the project with its dev extra (PyInstaller) if missing.
[CmdletBinding()]
param(
    [string]$Python = "py",
    [switch]$SkipSelfTest
)
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Root = Split-Path -Parent $PSScriptRoot
Set-Location $Root

function Say([string]$Text) { Write-Host "==> $Text" }

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "$Exe $($Arguments -join ' ') exited with $LASTEXITCODE"
    }
}

# 1. The build environment.
$VenvPython = Join-Path $Root ".venv\Scripts\python.exe"
if (-not (Test-Path $VenvPython)) {
    Say "creating the virtual environment in .venv"
    if ($Python -eq "py") {
        Invoke-Checked "py" @("-3.11", "-m", "venv", ".venv")
    } else {
        Invoke-Checked $Python @("-m", "venv", ".venv")
    }
}
Say "installing Python packages (pinned by constraints.txt)"
Invoke-Checked $VenvPython @("-m", "pip", "install", "-q", "--upgrade", "pip")
Invoke-Checked $VenvPython @("-m", "pip", "install", "-q", "-c", "constraints.txt", "-e", ".[dev]")

$Version = (& $VenvPython -c "import sys; sys.path.insert(0, 'build_scripts'); import freeze; print(freeze.version())").Trim()
$Arch = if ([Environment]::Is64BitOperatingSystem) { "x64" } else { "x86" }
$Name = "punchclock-$Version-windows-$Arch"

# 2. Icons (the .ico embedded in both programs).
Say "rendering icons"
$env:QT_QPA_PLATFORM = "offscreen"
Invoke-Checked $VenvPython @("build_scripts\make_icons.py", "build\icons")
Remove-Item Env:\QT_QPA_PLATFORM

# 3. Freeze.
Say "freezing with PyInstaller (one folder)"
$Watch = [Diagnostics.Stopwatch]::StartNew()
Invoke-Checked $VenvPython @(
    "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", "dist", "--workpath", "build\pyinstaller",
    "build_scripts\punchclock-windows.spec"
)
$Size = (Get-ChildItem -Recurse dist\punchclock | Measure-Object -Property Length -Sum).Sum
Say ("frozen in {0:N0} s: dist\punchclock ({1:N0} MB)" -f $Watch.Elapsed.TotalSeconds, ($Size / 1MB))

# 4. Self-test the frozen program (the console one prints the lines).
if (-not $SkipSelfTest) {
    Say "self-test of the frozen program"
    Invoke-Checked "dist\punchclock\punchclock-cli.exe" @("--self-test")
}

# 5. The zip a worker unpacks (or an installer wraps).
Say "packing dist\$Name.zip"
$Zip = "dist\$Name.zip"
if (Test-Path $Zip) { Remove-Item $Zip }
Compress-Archive -Path "dist\punchclock" -DestinationPath $Zip
Say "done: $Zip"
