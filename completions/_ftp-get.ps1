
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'ftp-get' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'ftp-get'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'ftp-get' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to FILE (one URL only); ''-'' writes to standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to FILE (one URL only); ''-'' writes to standard output')
            [CompletionResult]::new('-O', '-O ', [CompletionResultType]::ParameterName, 'Write into the folder DIR under the remote names [default: .]')
            [CompletionResult]::new('--output-dir', '--output-dir', [CompletionResultType]::ParameterName, 'Write into the folder DIR under the remote names [default: .]')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Transfer N files at once, over N logged-in connections (plus one that lists the folders, or makes them)')
            [CompletionResult]::new('--limit-rate', '--limit-rate', [CompletionResultType]::ParameterName, 'Move at most RATE bytes per second over all connections together (500K, 2M, 1G: powers of 1024)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool''s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool''s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read the config file FILE [default: $XDG_CONFIG_HOME/posthaste/config.toml]')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Log in as NAME (overrides the URL''s user)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password from the first line of FILE (must not be readable by group or others)')
            [CompletionResult]::new('--password-env', '--password-env', [CompletionResultType]::ParameterName, 'Take the password from the environment variable VAR')
            [CompletionResult]::new('--password-cmd', '--password-cmd', [CompletionResultType]::ParameterName, 'Run CMD with sh -c and take the first line it prints as the password (pass, gpg -d, secret-tool lookup, op read...); it fails (77) when CMD fails, prints nothing or takes over 60 s')
            [CompletionResult]::new('--netrc-file', '--netrc-file', [CompletionResultType]::ParameterName, 'Read credentials from this netrc file instead of $NETRC or ~/.netrc, and let its entry for the host name the user too (curl''s -n)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'TLS policy: auto upgrades whenever offered, required fails without TLS, none never uses it')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificates in this PEM file (a private CA, or a self-signed server)')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'Trust exactly the server certificate with this SHA-256 fingerprint (sha256:HEX), or those with this public key (sha256//BASE64 of its SubjectPublicKeyInfo, as curl''s --pinnedpubkey; several separated by ;), whoever signed it')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Present this client certificate (PEM, leaf first), with the private key the file holds unless --key names another; mail tools then log in with SASL EXTERNAL when no password is given')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The private key of --cert (PEM, unencrypted; must not be readable by group or others)')
            [CompletionResult]::new('--tls-server-name', '--tls-server-name', [CompletionResultType]::ParameterName, 'Check the server''s certificate against NAME (and send NAME as SNI) instead of the host connected to')
            [CompletionResult]::new('--tls-min', '--tls-min', [CompletionResultType]::ParameterName, 'The oldest TLS version to use [default: 1.2]')
            [CompletionResult]::new('--tls-max', '--tls-max', [CompletionResultType]::ParameterName, 'The newest TLS version to use [default: 1.3]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up when connecting (TCP, TLS and the greeting together), or any one reply from the server, takes longer than DURATION (90, 500ms, 30s, 2m, 1h; a bare number is seconds) [default: 30s to connect, 2m a reply]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retry transient failures (exit 75 class, broken connections) N times (0 to 100), waiting 1, 2, 4... s (at most 60 s) between tries')
            [CompletionResult]::new('--max-time', '--max-time', [CompletionResultType]::ParameterName, 'Give up the whole run after DURATION, whatever it is waiting for on the network (a connect, a reply, a transfer, a retry) [default: no limit]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Give up a transfer (a download, an upload, a listing, a message) that moves less than BYTES per second (512, 2k, 1M) over --speed-time; 0 turns this off [default: 100]')
            [CompletionResult]::new('--speed-time', '--speed-time', [CompletionResultType]::ParameterName, 'How long a transfer may stay under --speed-limit before it is given up [default: 30s, or --timeout when that is shorter]')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through this proxy: socks5h://HOST:PORT (the proxy resolves names), socks5://HOST:PORT (names resolved here) or http://HOST:PORT (CONNECT), a login as USER:PASSWORD@ before HOST; "" for none, whatever the environment says [default: $SCHEME_proxy, else $ALL_PROXY]')
            [CompletionResult]::new('--noproxy', '--noproxy', [CompletionResultType]::ParameterName, 'Connect directly to these hosts: a comma-separated list of names, domains (example.com also covers mail.example.com) and IP addresses (with /BITS); * for every host [default: $NO_PROXY]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress: auto draws a bar when stderr is a terminal, bar always, lines writes plain lines for a log, none nothing')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print the man page or a shell completion to standard output, and exit')
            [CompletionResult]::new('--create-dirs', '--create-dirs', [CompletionResultType]::ParameterName, 'Make the folders that --output-dir or -o name when they are missing')
            [CompletionResult]::new('--stdout', '--stdout', [CompletionResultType]::ParameterName, 'Write the files'' contents to standard output (same as -o -)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Resume NAME.part (or a shorter existing NAME) where it ends, with REST')
            [CompletionResult]::new('--continue', '--continue', [CompletionResultType]::ParameterName, 'Resume NAME.part (or a shorter existing NAME) where it ends, with REST')
            [CompletionResult]::new('--no-clobber', '--no-clobber', [CompletionResultType]::ParameterName, 'Skip files that already exist locally')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Mirror the tree under a URL naming a folder (with or without its /) into the output folder (remote names are checked; links are not followed)')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'Mirror the tree under a URL naming a folder (with or without its /) into the output folder (remote names are checked; links are not followed)')
            [CompletionResult]::new('--newer', '--newer', [CompletionResultType]::ParameterName, 'Skip files whose local copy has the remote size and modification time (SIZE, MDTM)')
            [CompletionResult]::new('--no-mtime', '--no-mtime', [CompletionResultType]::ParameterName, 'Do not set the local modification time from the server''s (MDTM)')
            [CompletionResult]::new('--delete-remote', '--delete-remote', [CompletionResultType]::ParameterName, 'Delete each remote file once it is completely and durably stored locally')
            [CompletionResult]::new('--active', '--active', [CompletionResultType]::ParameterName, 'Active mode: the server connects to us (EPRT, falling back to PORT)')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'ASCII transfers (TYPE A): line endings converted; no size check')
            [CompletionResult]::new('--no-netrc', '--no-netrc', [CompletionResultType]::ParameterName, 'Do not read any netrc file')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server certificate at all (says so on stderr)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Errors only: no progress bar, no notes')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Errors only: no progress bar, no notes')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
