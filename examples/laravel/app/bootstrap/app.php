<?php
// The application, built on Debian's Laravel 8 (php-laravel-framework in /usr/share/php), which
// brings its own autoloaders; App\ classes are found under app/ as composer's PSR-4 map would.

require_once '/usr/share/php/Illuminate/autoload.php';

spl_autoload_register(function (string $name): void {
    if (!str_starts_with($name, 'App\\')) {
        return;
    }
    $path = dirname(__DIR__) . '/app/' . strtr(substr($name, 4), '\\', '/') . '.php';
    if (is_file($path)) {
        require $path;
    }
});

$app = new Illuminate\Foundation\Application(dirname(__DIR__));
$app->singleton(Illuminate\Contracts\Http\Kernel::class, App\Http\Kernel::class);
$app->singleton(
    Illuminate\Contracts\Debug\ExceptionHandler::class,
    Illuminate\Foundation\Exceptions\Handler::class
);

return $app;
