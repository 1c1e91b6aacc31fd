complete -c mime-pack -s r -l from -d 'Author address: "Name <addr@example.com>" or addr@example.com [default: $EMAIL]' -r -f
complete -c mime-pack -l to -d 'Recipient (repeatable; a value may hold a comma-separated list)' -r -f
complete -c mime-pack -s c -l cc -d 'Carbon-copy recipient (repeatable)' -r -f
complete -c mime-pack -s b -l bcc -d 'Blind-copy recipient (repeatable); kept in the output for smtp-send -t, which strips it' -r -f
complete -c mime-pack -l reply-to -d 'Reply-To address (repeatable)' -r
complete -c mime-pack -s s -l subject -d 'Subject; non-ASCII is sent as RFC 2047 encoded-words' -r
complete -c mime-pack -l header -d 'Extra header field "Name: value" (repeatable); Date and Message-ID replace the generated ones' -r
complete -c mime-pack -l body -d 'The plain-text body; "-" (the default) is standard input' -r
complete -c mime-pack -l html -d 'Adds an HTML alternative to the text body (multipart/alternative)' -r
complete -c mime-pack -l inline -d 'A file the HTML refers to as cid:ID (repeatable): FILE[;cid=ID][;type=T][;name=N]. ID defaults to the file name' -r
complete -c mime-pack -s a -l attach -d 'Attach a file (repeatable): FILE[;type=T][;name=N][;charset=C]' -r
complete -c mime-pack -l charset -d 'Declare the text bodies in this charset instead of detecting it (bytes are sent unchanged)' -r
complete -c mime-pack -s o -l output -d 'Write the message to FILE (atomically; a device or FIFO is written in place) instead of standard output' -r
complete -c mime-pack -l generate -d 'Print the man page or a shell completion to standard output, and exit' -r -f -a "man\t'The man page (roff)'
bash\t'Bash completion'
zsh\t'Zsh completion'
fish\t'Fish completion'
elvish\t'Elvish completion'
powershell\t'PowerShell completion'"
complete -c mime-pack -l smtputf8 -d 'Allow non-ASCII addresses (RFC 6531); the server must offer SMTPUTF8'
complete -c mime-pack -l crlf -d 'End lines with CRLF (canonical form) instead of LF'
complete -c mime-pack -l create-dirs -d 'Make the folders of the -o FILE path when they are missing'
complete -c mime-pack -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mime-pack -s V -l version -d 'Print version'
