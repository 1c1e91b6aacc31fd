//! The one C maths function a tool calls, defined here so that `libm.so` is never loaded.
//!
//! indicatif's rate estimator calls `f64::powf`, which compiles to a call of C's `pow`; it
//! is the only libm function any of the seven tools uses. Linking `libm.so.6` for it costs
//! 0.3 MiB of resident memory in every run (its relocations and symbol tables are touched
//! at start, progress bar or not: measured with /proc/PID/smaps), a tenth of a tool's peak.
//! Defined in the program, `pow` is resolved here and the linker (`--as-needed`) leaves
//! libm out. The arithmetic is the `libm` crate's: fdlibm's `pow`, as in FreeBSD ("nearly
//! rounded", exact for integer powers that fit); indicatif only weighs its rate samples
//! with it.
//!
//! Nothing else in the process calls `pow` through the program: an executable exports a
//! symbol to shared libraries only when one of them was linked against it.
//!
//! A program that links this library with the `cli` feature gets this `pow` for its own
//! calls too (the crate's binaries are the only such programs; the library alone, without
//! `cli`, defines nothing).

/// C's `pow(x, y)`: `x` raised to the power `y`.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pow_is_c_pow() {
        assert_eq!(super::pow(2.0, 10.0), 1024.0);
        assert_eq!(super::pow(0.1, 0.0), 1.0);
        assert_eq!(super::pow(4.0, 0.5), 2.0);
        assert!((super::pow(0.1, 1.0 / 15.0) - 0.857_695_898_590_894_1).abs() < 1e-15);
        // What indicatif computes: the weight of a sample `age` seconds old.
        assert!((0.1_f64.powf(2.5) - 0.003_162_277_660_168_379_5).abs() < 1e-18);
    }
}
