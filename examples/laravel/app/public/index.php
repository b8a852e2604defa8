<?php
// Front controller: every request nginx does not answer from a file ends here.

define('LARAVEL_START', microtime(true));

$app = require dirname(__DIR__) . '/bootstrap/app.php';
$http = $app->make(Illuminate\Contracts\Http\Kernel::class);
$request = Illuminate\Http\Request::capture();
$answer = $http->handle($request);
$answer->send();
$http->terminate($request, $answer);
