"""The official Apache RocketMQ 4.9.x Java tools, installed by ``make compat-deps``."""

import os
import subprocess
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
JAVA_DIR: Final = ROOT / "tests" / "compat" / "java"
LIB: Final = JAVA_DIR / "target" / "lib"
COMPAT_JAR: Final = JAVA_DIR / "target" / "rmq-compat-0.1.0.jar"
ROCKETMQ_HOME: Final = ROOT / "tests" / "compat" / "rocketmq_home"

#: Java 17 closes internals that RocketMQ 4.9 (written for Java 8) reaches into.
JVM_FLAGS: Final = [
    "-Xms128m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
]


def classpath() -> str:
    if not COMPAT_JAR.exists() or not LIB.is_dir():
        raise RuntimeError(f"{COMPAT_JAR} is missing: run `make compat-deps` (Maven) first")
    return f"{COMPAT_JAR}{os.pathsep}{LIB}/*"


def java_env(home: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["ROCKETMQ_HOME"] = str(ROCKETMQ_HOME)
    if home is not None:
        env["HOME"] = str(home)
    return env


def java_command(main_class: str, *args: str) -> list[str]:
    return ["java", *JVM_FLAGS, "-cp", classpath(), main_class, *args]


def run_java(
    main_class: str, *args: str, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        java_command(main_class, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=java_env(),
        stdin=subprocess.DEVNULL,
    )


def mqadmin(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run the official mqadmin (MQAdminStartup) with ``args``."""
    return run_java("org.apache.rocketmq.tools.command.MQAdminStartup", *args, timeout=timeout)


def mqadmin_batch(commands: list[list[str]], timeout: float = 120.0) -> list[str]:
    """Run several mqadmin commands in one JVM (RmqCompat ``mqadminbatch``); their outputs,
    in order, exactly as each printed them."""
    stdin = "".join("\t".join(args) + "\n" for args in commands)
    command = java_command("dev.rmq.compat.RmqCompat", "mqadminbatch")
    result = subprocess.run(command, input=stdin, capture_output=True, text=True,
                            timeout=timeout, env=java_env())  # fmt: skip
    # Each chunk is the command's output, the newline the driver adds, then "@@END".
    chunks = result.stdout.split("@@BEGIN\n")[1:]
    outputs = [chunk[: chunk.rindex("\n@@END")] for chunk in chunks if "\n@@END" in chunk]
    if len(outputs) != len(commands):
        tail = result.stdout[-2000:] + result.stderr[-2000:]
        raise AssertionError(f"mqadmin batch: {len(outputs)} outputs for {len(commands)}: {tail}")
    return outputs
