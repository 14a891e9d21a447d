[New LWP 24583]
[New LWP 24584]
[New LWP 24585]
[New LWP 24586]
[Thread debugging using libthread_db enabled]
Using host libthread_db library "/lib/x86_64-linux-gnu/libthread_db.so.1".
syscall () at ../sysdeps/unix/sysv/linux/x86_64/syscall.S:38
38	../sysdeps/unix/sysv/linux/x86_64/syscall.S: No such file or directory.
warning: Missing auto-load script at offset 0 in section .debug_gdb_scripts
of file /tmp/h7/app/target/release/blk.
Use `info auto-load python-scripts [REGEXP]' to list them.

Thread 5 (Thread 0x7f7459f2d6c0 (LWP 24586) "blk"):
#0  0x00007f745a603545 in __GI___clock_nanosleep (clock_id=1, flags=0, req=0x7f7459f2cbd8, rem=0x7f7459f2cbd8) at ../sysdeps/unix/sysv/linux/clock_nanosleep.c:48
#1  0x000055eb903f0297 in std::sys::thread::unix::sleep::nanosleep () at library/std/src/sys/thread/unix.rs:553
#2  std::sys::thread::unix::sleep () at library/std/src/sys/thread/unix.rs:579
#3  std::thread::functions::sleep () at library/std/src/thread/functions.rs:289
#4  0x000055eb9038cf6f in blk::main::{async_block#3}::{closure#3} () at src/main.rs:151
#5  std::sys::backtrace::__rust_begin_short_backtrace<blk::main::{async_block#3}::{closure_env#3}, ()> (f=...) at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/sys/backtrace.rs:166

Thread 4 (Thread 0x7f745a12e6c0 (LWP 24585) "tokio-runtime-w"):
#0  __GI___libc_read (nbytes=16, buf=0x55ebb0965a90, fd=9) at ../sysdeps/unix/sysv/linux/read.c:26
#1  __GI___libc_read (fd=9, buf=0x55ebb0965a90, nbytes=16) at ../sysdeps/unix/sysv/linux/read.c:24
#2  0x000055eb903eb74e in std::sys::fd::unix::FileDesc::read () at library/std/src/sys/fd/unix.rs:112
#3  std::sys::fs::unix::File::read () at library/std/src/sys/fs/unix.rs:1694
#4  0x000055eb90376a59 in blk::pipe_task::{async_fn#0} () at src/main.rs:59
#5  0x000055eb90370f8f in tokio::runtime::task::core::{impl#6}::poll::{closure#0}<blk::pipe_task::{async_fn_env#0}, alloc::sync::Arc<tokio::runtime::scheduler::multi_thread::handle::Handle, alloc::alloc::Global>> (ptr=0x55ebb0965780) at /usr/share/cargo/registry/tokio-1.24.2/src/runtime/task/core.rs:223

Thread 3 (Thread 0x7f745a32f6c0 (LWP 24584) "tokio-runtime-w"):
#0  syscall () at ../sysdeps/unix/sysv/linux/x86_64/syscall.S:38
#1  0x000055eb903bec4a in parking_lot_core::thread_parker::imp::ThreadParker::futex_wait (ts=..., self=<optimized out>) at /usr/share/cargo/registry/parking_lot_core-0.9.3/src/thread_parker/linux.rs:112
#2  parking_lot_core::thread_parker::imp::{impl#0}::park (self=<optimized out>) at /usr/share/cargo/registry/parking_lot_core-0.9.3/src/thread_parker/linux.rs:66
#3  parking_lot_core::parking_lot::park::{closure#0}<parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#0}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#1}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#2}> (thread_data=0x7f745a32f628) at /usr/share/cargo/registry/parking_lot_core-0.9.3/src/parking_lot.rs:635
#4  parking_lot_core::parking_lot::with_thread_data<parking_lot_core::parking_lot::ParkResult, parking_lot_core::parking_lot::park::{closure_env#0}<parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#0}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#1}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#2}>> (f=...) at /usr/share/cargo/registry/parking_lot_core-0.9.3/src/parking_lot.rs:207
#5  parking_lot_core::parking_lot::park<parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#0}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#1}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#2}> (park_token=..., key=<optimized out>, validate=..., before_sleep=..., timed_out=..., timeout=<error reading variable: Cannot access memory at address 0x8>) at /usr/share/cargo/registry/parking_lot_core-0.9.3/src/parking_lot.rs:600

Thread 2 (Thread 0x7f745a5306c0 (LWP 24583) "blk"):
#0  0x00007f745a603545 in __GI___clock_nanosleep (clock_id=1, flags=0, req=0x7f745a52fc18, rem=0x7f745a52fc18) at ../sysdeps/unix/sysv/linux/clock_nanosleep.c:48
#1  0x000055eb903f0297 in std::sys::thread::unix::sleep::nanosleep () at library/std/src/sys/thread/unix.rs:553
#2  std::sys::thread::unix::sleep () at library/std/src/sys/thread/unix.rs:579
#3  std::thread::functions::sleep () at library/std/src/thread/functions.rs:289
#4  0x000055eb9038c7a3 in blk::main::{closure#2} () at src/main.rs:101
#5  std::sys::backtrace::__rust_begin_short_backtrace<blk::main::{closure_env#2}, ()> (f=...) at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/sys/backtrace.rs:166

Thread 1 (Thread 0x7f745a531880 (LWP 24582) "blk"):
#0  syscall () at ../sysdeps/unix/sysv/linux/x86_64/syscall.S:38
#1  0x000055eb903bec4a in parking_lot_core::thread_parker::imp::ThreadParker::futex_wait (ts=..., self=<optimized out>) at /usr/share/cargo/registry/parking_lot_core-0.9.3/src/thread_parker/linux.rs:112
#2  parking_lot_core::thread_parker::imp::{impl#0}::park (self=<optimized out>) at /usr/share/cargo/registry/parking_lot_core-0.9.3/src/thread_parker/linux.rs:66
#3  parking_lot_core::parking_lot::park::{closure#0}<parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#0}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#1}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#2}> (thread_data=0x7f745a5317e8) at /usr/share/cargo/registry/parking_lot_core-0.9.3/src/parking_lot.rs:635
#4  parking_lot_core::parking_lot::with_thread_data<parking_lot_core::parking_lot::ParkResult, parking_lot_core::parking_lot::park::{closure_env#0}<parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#0}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#1}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#2}>> (f=...) at /usr/share/cargo/registry/parking_lot_core-0.9.3/src/parking_lot.rs:207
#5  parking_lot_core::parking_lot::park<parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#0}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#1}, parking_lot::condvar::{impl#1}::wait_until_internal::{closure_env#2}> (park_token=..., key=<optimized out>, validate=..., before_sleep=..., timed_out=..., timeout=<error reading variable: Cannot access memory at address 0x8>) at /usr/share/cargo/registry/parking_lot_core-0.9.3/src/parking_lot.rs:600
[Inferior 1 (process 24582) detached]
