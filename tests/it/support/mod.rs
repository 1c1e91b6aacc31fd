pub mod fake_ftp;
pub mod servers;
