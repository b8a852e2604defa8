<?php
// Logs go to the container's stderr, as a container's logs should.

return [
    'default' => 'stderr',
    'channels' => [
        'stderr' => ['driver' => 'monolog', 'handler' => Monolog\Handler\StreamHandler::class,
                     'with' => ['stream' => 'php://stderr']],
    ],
];
