
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'smtp-send' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'smtp-send'
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
        'smtp-send' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The server: smtp://HOST (STARTTLS; smtp://HOST:587 for submission) or smtps://HOST (port 465); a bare HOST or HOST:PORT is smtp://')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Envelope sender, and the From header when the message has none (''<>'' or '''': the null sender of bounces and vacation replies) [default: the From header''s address]')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Envelope sender, and the From header when the message has none (''<>'' or '''': the null sender of bounces and vacation replies) [default: the From header''s address]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Envelope sender, and the From header when the message has none (''<>'' or '''': the null sender of bounces and vacation replies) [default: the From header''s address]')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'The display name for the From header that --from adds')
            [CompletionResult]::new('--full-name', '--full-name', [CompletionResultType]::ParameterName, 'The display name for the From header that --from adds')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read the message from FILE instead of standard input; repeat to send several over one connection')
            [CompletionResult]::new('--helo', '--helo', [CompletionResultType]::ParameterName, 'The name to give in EHLO [default: the local host name]')
            [CompletionResult]::new('--subject', '--subject', [CompletionResultType]::ParameterName, 'Make the message from plain text on standard input (or --file), with this Subject (RFC 2047-encoded when not ASCII), From, To (--to), Date, Message-ID and a text/plain UTF-8 body')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'With --subject: a recipient, in To (repeat, or separate with commas)')
            [CompletionResult]::new('-N', '-N ', [CompletionResultType]::ParameterName, 'Ask for delivery status notifications (DSN, when the server offers it): NEVER, or SUCCESS, FAILURE and DELAY separated by commas (sendmail''s -N)')
            [CompletionResult]::new('--notify', '--notify', [CompletionResultType]::ParameterName, 'Ask for delivery status notifications (DSN, when the server offers it): NEVER, or SUCCESS, FAILURE and DELAY separated by commas (sendmail''s -N)')
            [CompletionResult]::new('-R', '-R ', [CompletionResultType]::ParameterName, 'What a DSN returns of the message: FULL or HDRS (sendmail''s -R)')
            [CompletionResult]::new('--ret', '--ret', [CompletionResultType]::ParameterName, 'What a DSN returns of the message: FULL or HDRS (sendmail''s -R)')
            [CompletionResult]::new('--envid', '--envid', [CompletionResultType]::ParameterName, 'An envelope identifier for DSNs (printable ASCII)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Append one line per message to FILE: time, server, sender, recipients, size, the final reply and the exit status')
            [CompletionResult]::new('--aliases', '--aliases', [CompletionResultType]::ParameterName, 'Replace each recipient without @ (cron''s root) by its addresses in FILE, msmtp''s aliases file: lines NAME: ADDRESS, ADDRESS..., # comments, default: for every name not listed; one level, and headers are left as they are')
            [CompletionResult]::new('--maildomain', '--maildomain', [CompletionResultType]::ParameterName, 'Complete a recipient still without @ after --aliases, and a sender without @, as NAME@DOMAIN; with no -f and no From header the sender is LOGIN@DOMAIN (msmtp''s auto_from)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'sendmail''s options: -oi (as -i), -oem, -oep, -oeq, -oew (errors are always reported on stderr with the exit status)')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'sendmail''s body type: 7BIT or 8BITMIME (8BITMIME is declared whenever the server offers it)')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'sendmail''s mode: only -bm (deliver a message) is supported')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Log in with this SASL mechanism (SCRAM-SHA-256, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, EXTERNAL) [default: the best the server offers]')
            [CompletionResult]::new('--oauth2-token-env', '--oauth2-token-env', [CompletionResultType]::ParameterName, 'Log in with the OAuth2 access token in the environment variable VAR (OAUTHBEARER or XOAUTH2; needs --user)')
            [CompletionResult]::new('--oauth2-provider', '--oauth2-provider', [CompletionResultType]::ParameterName, 'Log in with OAuth2 through a provider''s endpoints and scopes: microsoft (Microsoft 365, Outlook.com) or google (Gmail); --oauth2-client-id is still needed')
            [CompletionResult]::new('--oauth2-token-endpoint', '--oauth2-token-endpoint', [CompletionResultType]::ParameterName, 'Log in with OAuth2, refreshing tokens at this token endpoint (https://)')
            [CompletionResult]::new('--oauth2-device-authorization-endpoint', '--oauth2-device-authorization-endpoint', [CompletionResultType]::ParameterName, 'The device authorization endpoint, for --authorize (https://)')
            [CompletionResult]::new('--oauth2-client-id', '--oauth2-client-id', [CompletionResultType]::ParameterName, 'The OAuth2 client (application) id registered with the provider')
            [CompletionResult]::new('--oauth2-client-secret-file', '--oauth2-client-secret-file', [CompletionResultType]::ParameterName, 'Read the OAuth2 client secret, if the client has one, from the first line of FILE (chmod 600)')
            [CompletionResult]::new('--oauth2-scope', '--oauth2-scope', [CompletionResultType]::ParameterName, 'The scopes to ask for, separated by spaces (default: the provider''s for the tool)')
            [CompletionResult]::new('--oauth2-refresh-token-file', '--oauth2-refresh-token-file', [CompletionResultType]::ParameterName, 'Start from the refresh token on the first line of FILE (chmod 600) while the token cache holds none')
            [CompletionResult]::new('--import-msmtprc', '--import-msmtprc', [CompletionResultType]::ParameterName, 'Print msmtp''s config file FILE (~/.msmtprc) as accounts of posthaste''s config file on standard output (append them: >> ~/.config/posthaste/config.toml), and exit')
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
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print the man page or a shell completion to standard output, and exit')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Also send to the addresses in To, Cc and Bcc (Resent-To, -Cc, -Bcc when present)')
            [CompletionResult]::new('--quoted-printable', '--quoted-printable', [CompletionResultType]::ParameterName, 'With --subject: send the text quoted-printable (mime-pack''s encoding), so that lines longer than SMTP''s 998 octets, lone CRs and NULs arrive as they are [default: when the text holds one, as mime-pack chooses]')
            [CompletionResult]::new('--syslog', '--syslog', [CompletionResultType]::ParameterName, 'Log that line to syslog (facility mail) too')
            [CompletionResult]::new('--allow-bare-cr', '--allow-bare-cr', [CompletionResultType]::ParameterName, 'Send a lone CR (one not followed by LF) as it is instead of refusing the message')
            [CompletionResult]::new('--no-chunking', '--no-chunking', [CompletionResultType]::ParameterName, 'Send the message with DATA even when the server offers CHUNKING (BDAT)')
            [CompletionResult]::new('--partial', '--partial', [CompletionResultType]::ParameterName, 'When some recipients are refused, send to the others (and exit 67, or 79 when they were refused only for now; stderr says who got it)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'sendmail''s -i: a line with a single dot does not end the message (it never does here)')
            [CompletionResult]::new('--authorize', '--authorize', [CompletionResultType]::ParameterName, 'Sign in once at a terminal (the OAuth2 device authorization grant: open the URL shown, enter the code), keep the tokens in the account''s token cache, and exit')
            [CompletionResult]::new('--no-netrc', '--no-netrc', [CompletionResultType]::ParameterName, 'Do not read any netrc file')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server certificate at all (says so on stderr)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Errors only: no notes, no list of the recipients accepted')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Errors only: no notes, no list of the recipients accepted')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show the SMTP transcript on stderr (C:/S: lines), and each recipient accepted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show the SMTP transcript on stderr (C:/S: lines), and each recipient accepted')
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
