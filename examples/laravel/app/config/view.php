<?php
// Error pages come from the framework's own views; compiled templates go to storage/.

return [
    'paths' => [resource_path('views')],
    'compiled' => storage_path('framework/views'),
];
