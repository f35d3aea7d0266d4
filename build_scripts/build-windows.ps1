# Builds Punchclock for Windows with PyInstaller: a one-folder program in
# dist\punchclock\ (Punchclock.exe, the tray app without a console window;
# punchclock-cli.exe, the command line) and dist\punchclock-VERSION-windows-ARCH.zip
# (ARCH: x64 or arm64, that of the Python that builds it).
#
#   powershell -ExecutionPolicy Bypass -File build_scripts\build-windows.ps1
#   ... -Python "C:\Python311\python.exe"   # the interpreter for a fresh .venv
#   ... -SkipSelfTest                        # when cross-checking elsewhere
#
# Needs Python 3.11 (PySide6 6.11 pins; shared/TESTING.md). Creates .venv
# and installs the project with its dev extra (PyInstaller) if missing.
# Runs under Windows PowerShell 5.1 and PowerShell 7 (pwsh, as CI runs it).
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

# Runs a program and throws when it fails. What it writes to stderr (pip's
# notices, PyInstaller's warnings) is not an error by itself: Windows
# PowerShell 5.1 would turn it into a terminating one under "Stop" when the
# output is captured, so the preference is relaxed in this function's scope
# and the exit code decides.
function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    $ErrorActionPreference = "Continue"
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "$Exe $($Arguments -join ' ') exited with $LASTEXITCODE"
    }
}

# The one line a Python snippet prints, from the build environment.
function Get-PythonValue([string]$Code) {
    $ErrorActionPreference = "Continue"
    $Value = & $VenvPython -c $Code
    if ($LASTEXITCODE -ne 0 -or -not $Value) {
        throw "the build environment could not run: $Code"
    }
    return "$Value".Trim()
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

$Version = Get-PythonValue "import sys; sys.path.insert(0, 'build_scripts'); import freeze; print(freeze.version())"
# The interpreter's machine, not the OS's: an x64 Python on ARM64 Windows
# builds an x64 program. PySide6 has wheels for AMD64 and ARM64 only.
$Machine = Get-PythonValue "import platform; print(platform.machine())"
$Arch = @{ "AMD64" = "x64"; "ARM64" = "arm64" }[$Machine.ToUpper()]
if (-not $Arch) { throw "cannot build for ${Machine}: PySide6 has no wheels for it" }
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
$Size = (Get-ChildItem -Recurse -File dist\punchclock | Measure-Object -Property Length -Sum).Sum
Say ("frozen in {0:N0} s: dist\punchclock ({1:N0} MB)" -f $Watch.Elapsed.TotalSeconds, ($Size / 1MB))

# 4. Self-test the frozen program (the console one prints the lines).
if (-not $SkipSelfTest) {
    Say "self-test of the frozen program"
    Invoke-Checked (Join-Path $Root "dist\punchclock\punchclock-cli.exe") @("--self-test")
}

# 5. The zip a worker unpacks (or an installer wraps).
Say "packing dist\$Name.zip"
$Zip = "dist\$Name.zip"
if (Test-Path $Zip) { Remove-Item $Zip }
Compress-Archive -Path "dist\punchclock" -DestinationPath $Zip
Say "done: $Zip"
