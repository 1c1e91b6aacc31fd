pub mod fake_ftp;
