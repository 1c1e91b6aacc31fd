
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'mime-pack' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'mime-pack'
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
        'mime-pack' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Author address: "Name <addr@example.com>" or addr@example.com [default: $EMAIL]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Author address: "Name <addr@example.com>" or addr@example.com [default: $EMAIL]')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Recipient (repeatable; a value may hold a comma-separated list)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Carbon-copy recipient (repeatable)')
            [CompletionResult]::new('--cc', '--cc', [CompletionResultType]::ParameterName, 'Carbon-copy recipient (repeatable)')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Blind-copy recipient (repeatable); kept in the output for smtp-send -t, which strips it')
            [CompletionResult]::new('--bcc', '--bcc', [CompletionResultType]::ParameterName, 'Blind-copy recipient (repeatable); kept in the output for smtp-send -t, which strips it')
            [CompletionResult]::new('--reply-to', '--reply-to', [CompletionResultType]::ParameterName, 'Reply-To address (repeatable)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Subject; non-ASCII is sent as RFC 2047 encoded-words')
            [CompletionResult]::new('--subject', '--subject', [CompletionResultType]::ParameterName, 'Subject; non-ASCII is sent as RFC 2047 encoded-words')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra header field "Name: value" (repeatable); Date and Message-ID replace the generated ones')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'The plain-text body; "-" (the default) is standard input')
            [CompletionResult]::new('--html', '--html', [CompletionResultType]::ParameterName, 'Adds an HTML alternative to the text body (multipart/alternative)')
            [CompletionResult]::new('--inline', '--inline', [CompletionResultType]::ParameterName, 'A file the HTML refers to as cid:ID (repeatable): FILE[;cid=ID][;type=T][;name=N]. ID defaults to the file name')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Attach a file (repeatable): FILE[;type=T][;name=N][;charset=C]')
            [CompletionResult]::new('--attach', '--attach', [CompletionResultType]::ParameterName, 'Attach a file (repeatable): FILE[;type=T][;name=N][;charset=C]')
            [CompletionResult]::new('--charset', '--charset', [CompletionResultType]::ParameterName, 'Declare the text bodies in this charset instead of detecting it (bytes are sent unchanged)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the message to FILE (atomically; a device or FIFO is written in place) instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the message to FILE (atomically; a device or FIFO is written in place) instead of standard output')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print the man page or a shell completion to standard output, and exit')
            [CompletionResult]::new('--smtputf8', '--smtputf8', [CompletionResultType]::ParameterName, 'Allow non-ASCII addresses (RFC 6531); the server must offer SMTPUTF8')
            [CompletionResult]::new('--crlf', '--crlf', [CompletionResultType]::ParameterName, 'End lines with CRLF (canonical form) instead of LF')
            [CompletionResult]::new('--create-dirs', '--create-dirs', [CompletionResultType]::ParameterName, 'Make the folders of the -o FILE path when they are missing')
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
